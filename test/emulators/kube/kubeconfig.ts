/**
 * Kubeconfigs as AKS hands them out (listClusterUserCredential / listClusterAdminCredential):
 * - `user` on a cluster without Entra integration: the local-account client certificate;
 * - `user` (Entra-integrated cluster): the kubelogin exec plugin with `--server-id 6dae42f8-…`
 *   (the product converts it to a bearer token from its service connection; the API server accepts
 *   Entra access tokens for that audience);
 * - `admin`: a client certificate (CN masterclient, O system:masters) signed by the cluster CA;
 * plus a static-token kubeconfig for tests and Kubernetes service connections.
 */
import { stringify } from 'yaml';
import { AKS_SERVER_APP_ID } from './authn';

/** The public client id AKS writes for kubelogin (the Azure CLI's). */
const KUBELOGIN_CLIENT_ID = '80faf920-1908-4b52-b5ef-a8e7bedfc67a';

const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Base {
  clusterName: string;
  server: string;
  caCert: string;
  userName: string;
}

function doc(b: Base, user: Record<string, unknown>): string {
  return stringify(
    {
      apiVersion: 'v1',
      clusters: [{ cluster: { 'certificate-authority-data': b64(b.caCert), server: b.server }, name: b.clusterName }],
      contexts: [{ context: { cluster: b.clusterName, user: b.userName }, name: b.clusterName }],
      'current-context': b.clusterName,
      kind: 'Config',
      preferences: {},
      users: [{ name: b.userName, user }],
    },
    { lineWidth: 0 },
  );
}

export function userKubeconfig(
  b: Omit<Base, 'userName'> & { resourceGroup: string; tenantId: string; environment?: string },
): string {
  return doc(
    { ...b, userName: `clusterUser_${b.resourceGroup}_${b.clusterName}` },
    {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        args: [
          'get-token',
          '--environment',
          b.environment ?? 'AzurePublicCloud',
          '--server-id',
          AKS_SERVER_APP_ID,
          '--client-id',
          KUBELOGIN_CLIENT_ID,
          '--tenant-id',
          b.tenantId,
          '--login',
          'devicecode',
        ],
        command: 'kubelogin',
        env: null,
        installHint:
          '\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\nTo learn more, please go to https://aka.ms/aks/kubelogin\n',
        provideClusterInfo: false,
      },
    },
  );
}

export function adminKubeconfig(
  b: Omit<Base, 'userName'> & { resourceGroup: string; clientCert: string; clientKey: string },
): string {
  return doc(
    { ...b, userName: `clusterAdmin_${b.resourceGroup}_${b.clusterName}` },
    {
      'client-certificate-data': b64(b.clientCert),
      'client-key-data': b64(b.clientKey),
    },
  );
}

/** The user credentials of a cluster without Entra integration: the local-account certificate. */
export function certificateUserKubeconfig(
  b: Omit<Base, 'userName'> & { resourceGroup: string; clientCert: string; clientKey: string },
): string {
  return doc(
    { ...b, userName: `clusterUser_${b.resourceGroup}_${b.clusterName}` },
    {
      'client-certificate-data': b64(b.clientCert),
      'client-key-data': b64(b.clientKey),
    },
  );
}

export function tokenKubeconfig(b: Omit<Base, 'userName'> & { token: string; userName?: string }): string {
  return doc({ ...b, userName: b.userName ?? 'token-user' }, { token: b.token });
}
