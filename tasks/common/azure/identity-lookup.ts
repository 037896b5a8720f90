/**
 * A user-assigned identity found by its clientId rather than its name (FluxOidcVerify's `clientId`
 * input): ARM has no GET by clientId, so the resource group's identities are listed.
 */
import type { ArmClients } from './clients';
import { describeArmError } from './errors';
import { identityState, type IdentityState } from './identity';

/** The user-assigned identity in `resourceGroup` whose clientId is `clientId`, if any. */
export async function findIdentityByClientId(
  clients: ArmClients,
  resourceGroup: string,
  clientId: string,
): Promise<IdentityState | undefined> {
  try {
    for await (const i of clients.msi.userAssignedIdentities.listByResourceGroup(resourceGroup)) {
      if (i.clientId?.toLowerCase() === clientId.toLowerCase()) {
        return identityState(i);
      }
    }
  } catch (err) {
    throw describeArmError(err, {
      action: `list the managed identities in resource group '${resourceGroup}'`,
      role: 'Reader',
      scope: `the resource group '${resourceGroup}'`,
      input: 'identityResourceGroup',
    });
  }
  return undefined;
}
