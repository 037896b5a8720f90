/**
 * Naming rules of the resources the tasks' inputs name, as `readString` / `readList` spec parts
 * (the pattern and the hint the error's fix shows), so every task checks a name the same way:
 *
 *   readString(p, { name: 'clusterName', label: 'AKS cluster name', required: true, ...NAME_RULES.aksCluster })
 */

/** A DNS-1123 subdomain: a Kubernetes object name (ServiceAccount, GitRepository, Kustomization). */
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const NAME_RULES = {
  // Azure (documented resource name rules).
  resourceGroup: {
    pattern: /^[-\w.()]{1,89}[-\w()]$|^[-\w()]$/,
    patternHint: "a resource group name: 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'",
  },
  aksCluster: {
    pattern: /^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/,
    patternHint: "1-63 letters, digits, '-' or '_', starting and ending with a letter or digit",
  },
  managedIdentity: {
    pattern: /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/,
    patternHint: "3-128 letters, digits, '-' or '_', starting with a letter or digit",
  },
  azureLocation: {
    pattern: /^[a-z][a-z0-9]{1,39}$/,
    patternHint:
      "an Azure region name such as westeurope (lower case, no spaces); leave empty for the cluster's region",
  },
  // Kubernetes: a namespace is a DNS-1123 label; object names are DNS-1123 subdomains.
  namespace: {
    pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    patternHint: "a Kubernetes namespace name: 1-63 lower-case letters, digits or '-'",
  },
  kubernetesObject: {
    pattern: DNS_SUBDOMAIN,
    patternHint: "a Kubernetes object name (lower-case letters, digits, '-' and '.')",
  },
  // Azure DevOps team names: no leading/trailing blanks, none of the characters the service refuses.
  team: {
    pattern: /^(?! )[^\\/:*?"<>|;#$*{},+=[\]]{1,64}(?<! )$/,
    patternHint:
      'a team name of at most 64 characters, without \\ / : * ? " < > | ; # $ { } , + = [ ] and no leading or trailing blank',
  },
} as const;

/** For `readList` of service account names. */
export const SERVICE_ACCOUNT_ITEMS = {
  itemPattern: DNS_SUBDOMAIN,
  itemHint: "a Kubernetes service account name such as source-controller (lower-case letters, digits, '-' and '.')",
} as const;
