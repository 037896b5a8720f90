/**
 * Committing files to an Azure DevOps Git repository without a clone and without git credentials
 * on disk: the pushes REST API (azure-devops-node-api GitApi), plus the pull request calls.
 *
 * A push names the branch tip it was computed from (`oldObjectId`); when someone else pushed in
 * between, Azure DevOps answers 409 TF401028 (GitReferenceStaleException). `commitFiles` then
 * reads the new tip, asks the caller to compute the files again from the new tip's contents (the
 * caller's change is deterministic, so re-applying it is safe) and pushes again, a bounded number
 * of times.
 */
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import {
  GitVersionType,
  ItemContentType,
  PullRequestStatus,
  VersionControlChangeType,
  type GitPullRequest,
} from 'azure-devops-node-api/interfaces/GitInterfaces';
import type { Logger } from '../log';
import { RetryPolicy } from '../http/retry';
import { UserError } from '../errors';
import { describeDevOpsError, type TokenHolder } from './errors';
import { errorInfo } from '../http/errors';

export const ZERO_OBJECT_ID = '0000000000000000000000000000000000000000';

export interface RepoRef {
  /** Project name or id. */
  project: string;
  /** Repository name or id. */
  repository: string;
}

export interface RepoInfo {
  id: string;
  name: string;
  /** The repository's web URL (https://dev.azure.com/org/project/_git/repo). */
  webUrl?: string;
  defaultBranch?: string;
}

/** A file to write, by its path in the repository ('/clusters/prod/flux-system/kustomization.yaml'). */
export interface RepoFile {
  path: string;
  content: string;
  /** Whether the file exists in the commit the content was computed from (edit) or not (add). */
  exists: boolean;
}

/** `refs/heads/main` from `main` or `refs/heads/main`. */
export function branchRef(branch: string): string {
  return branch.startsWith('refs/') ? branch : `refs/heads/${branch}`;
}

/** A holder for a bare "who" text: its 401 says to make it a user of the organization. */
function holderFor(who: string | TokenHolder): TokenHolder {
  if (typeof who !== 'string') return who;
  return {
    who,
    unauthorized: {
      cause: `${who} is not a user of the organization or its token is not valid there`,
      fix: `make ${who} a user of the Azure DevOps organization (Basic access)`,
    },
  };
}

/**
 * A UserError for an Azure DevOps refusal the user can fix (401/403/404), naming who was refused
 * and what to grant; anything else is returned unchanged.
 */
export function gitAccessError(err: unknown, action: string, who: string | TokenHolder, right: string): unknown {
  const info = errorInfo(err);
  if (info.status === 404) {
    return new UserError(`Could not ${action}: not found (HTTP 404).`, {
      code: 'DevOpsNotFound',
      inner: err,
      cause: `Azure DevOps said: ${info.message}`,
      fix: `check the organization, project and repository, and that ${typeof who === 'string' ? who : who.who} can read the repository`,
    });
  }
  return describeDevOpsError(err, {
    action,
    holder: holderFor(who),
    right: `${right} (Project settings > Repositories > the repository > Security)`,
  });
}

/**
 * A push refused because the branch requires pull requests (a required branch policy): 403
 * TF402455 "Pushes to this branch are not permitted; you must use a pull request to update this
 * branch." Matched by its TF code (and typeKey), not by the English text.
 */
export function isBranchPolicyRefusal(err: unknown): boolean {
  const info = errorInfo(err);
  return (
    info.typeKey === 'GitRefUpdateRejectedByPolicyException' ||
    (info.status === 403 && /\bTF402455\b/.test(info.message))
  );
}

/** The branch takes changes only through pull requests; the caller decides what to offer. */
export class BranchPolicyError extends UserError {
  constructor(
    readonly branch: string,
    inner: unknown,
  ) {
    super(`Could not push to ${branch}: the branch requires pull requests (a branch policy protects it, TF402455).`, {
      code: 'BranchPolicy',
      cause: `Azure DevOps refuses direct pushes to ${branch} because a required branch policy (reviewers, build validation, ...) is set on it; this is not a missing permission. Azure DevOps said: ${errorInfo(inner).message}`,
      fix: 'open a pull request instead (commitMode: pullRequest)',
      inner,
    });
  }
}

/** The push lost a race (TF401028): the VSS exception type, not its text. */
export function isStalePush(err: unknown): boolean {
  return errorInfo(err).typeKey === 'GitReferenceStaleException';
}

/** Thin, typed access to one repository through GitApi. */
export class GitRepository {
  private info: RepoInfo | undefined;

  /** The identity behind the token, as error texts name it. */
  readonly who: string;
  private readonly holder: string | TokenHolder;

  /**
   * @param who the identity behind the token, for error texts: a TokenHolder (JOB_TOKEN_HOLDER, or
   *   DevOpsConnection.holder), or just its name ("the service connection's principal (<client id>)").
   */
  constructor(
    private readonly git: IGitApi,
    readonly ref: RepoRef,
    private readonly log: Logger,
    who: string | TokenHolder = 'the identity',
  ) {
    this.holder = who;
    this.who = typeof who === 'string' ? who : who.who;
  }

  /** Runs a call, turning 401/403/404 into errors that say who lacks what. */
  private async call<T>(action: string, right: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw gitAccessError(err, action, this.holder, right);
    }
  }

  async repository(): Promise<RepoInfo> {
    if (!this.info) {
      const r = await this.call(
        `read the repository ${this.ref.project}/${this.ref.repository}`,
        "the 'Read' Git permission on the repository",
        () => this.git.getRepository(this.ref.repository, this.ref.project),
      );
      if (!r?.id) {
        throw new UserError(
          `The repository ${this.ref.project}/${this.ref.repository} does not exist or the identity cannot read it.`,
          {
            code: 'RepositoryNotFound',
            fix: 'check the project and repository (the build repository by default) and that the identity has Read on it',
          },
        );
      }
      this.info = {
        id: r.id,
        name: r.name ?? this.ref.repository,
        ...(r.webUrl ? { webUrl: r.webUrl } : {}),
        ...(r.defaultBranch ? { defaultBranch: r.defaultBranch } : {}),
      };
    }
    return this.info;
  }

  /** The commit a branch points at; undefined when the branch does not exist. */
  async tip(branch: string): Promise<string | undefined> {
    const ref = branchRef(branch);
    const repo = await this.repository();
    const refs = await this.call(`read the branch ${ref}`, "the 'Read' Git permission on the repository", () =>
      this.git.getRefs(repo.id, this.ref.project, ref.replace(/^refs\//, '')),
    );
    // The filter is a prefix (heads/main also matches heads/main-old): take the exact name.
    return (refs ?? []).find((r) => r.name === ref)?.objectId;
  }

  /** A file's text at a commit; undefined when it does not exist there. */
  async readFile(path: string, commitId: string): Promise<string | undefined> {
    const repo = await this.repository();
    try {
      const item = await this.git.getItem(
        repo.id,
        path,
        this.ref.project,
        undefined,
        undefined,
        false,
        false,
        false,
        { version: commitId, versionType: GitVersionType.Commit },
        true,
      );
      if (!item || item.isFolder) return undefined;
      return item.content ?? '';
    } catch (err) {
      if (errorInfo(err).status === 404) return undefined;
      throw gitAccessError(err, `read ${path}`, this.holder, "the 'Read' Git permission on the repository");
    }
  }

  /** Pushes one commit; `oldObjectId` is the branch's current tip (or, for a new branch, the commit to branch from). */
  async push(branch: string, oldObjectId: string, message: string, files: readonly RepoFile[]): Promise<string> {
    const repo = await this.repository();
    const result = await this.git.createPush(
      {
        refUpdates: [{ name: branchRef(branch), oldObjectId }],
        commits: [
          {
            comment: message,
            changes: files.map((f) => ({
              changeType: f.exists ? VersionControlChangeType.Edit : VersionControlChangeType.Add,
              item: { path: f.path },
              newContent: { content: f.content, contentType: ItemContentType.RawText },
            })),
          },
        ],
      },
      repo.id,
      this.ref.project,
    );
    const commitId = result.commits?.[0]?.commitId ?? result.refUpdates?.[0]?.newObjectId;
    if (!commitId) throw new Error('Azure DevOps accepted the push but returned no commit id');
    return commitId;
  }

  async activePullRequest(sourceBranch: string, targetBranch: string): Promise<GitPullRequest | undefined> {
    const repo = await this.repository();
    const prs = await this.call('list the pull requests', "the 'Read' Git permission on the repository", () =>
      this.git.getPullRequests(
        repo.id,
        {
          sourceRefName: branchRef(sourceBranch),
          targetRefName: branchRef(targetBranch),
          status: PullRequestStatus.Active,
        },
        this.ref.project,
      ),
    );
    return (prs ?? []).find(
      (p) => p.sourceRefName === branchRef(sourceBranch) && p.targetRefName === branchRef(targetBranch),
    );
  }

  async createPullRequest(
    sourceBranch: string,
    targetBranch: string,
    title: string,
    description: string,
  ): Promise<GitPullRequest> {
    const repo = await this.repository();
    return this.call(
      `open a pull request from ${branchRef(sourceBranch)}`,
      "the 'Contribute to pull requests' Git permission",
      () =>
        this.git.createPullRequest(
          { sourceRefName: branchRef(sourceBranch), targetRefName: branchRef(targetBranch), title, description },
          repo.id,
          this.ref.project,
        ),
    );
  }

  /** Updates only the fields given. */
  async updatePullRequest(id: number, change: { title?: string; description?: string }): Promise<GitPullRequest> {
    const repo = await this.repository();
    return this.call(`update pull request ${id}`, "the 'Contribute to pull requests' Git permission", () =>
      this.git.updatePullRequest(change, repo.id, id, this.ref.project),
    );
  }

  /** The pull request's page in the web UI. */
  async pullRequestUrl(id: number): Promise<string> {
    const repo = await this.repository();
    return `${repo.webUrl ?? ''}/pullrequest/${id}`;
  }

  get logger(): Logger {
    return this.log;
  }

  /** Who holds the token, for error texts. */
  get tokenHolder(): string | TokenHolder {
    return this.holder;
  }
}

export interface CommitRequest {
  branch: string;
  message: string;
  /**
   * The files to write, computed from the contents of `commitId` (read them with
   * `repo.readFile(path, commitId)`); [] when that commit needs nothing.
   */
  compute(commitId: string): Promise<RepoFile[]>;
  /** For a branch that does not exist yet: the commit to start it from. */
  startFrom?: string;
  /** Attempts in all (default 12: enough for a dozen parallel jobs pushing to one branch to take turns). */
  maxAttempts?: number;
  /** The run's retry policy: a lost race is retried under it (jittered, so parallel runs spread out). */
  retry?: RetryPolicy;
}

export interface CommitResult {
  /** The new commit; undefined when there was nothing to commit. */
  commitId?: string;
  /** The branch tip the commit was made on (or that needed nothing). */
  baseCommit: string;
  attempts: number;
  files: RepoFile[];
}

/**
 * Computes the change on the branch tip and pushes it; on a lost race (TF401028) re-reads the tip,
 * computes again and retries. Nothing to commit -> no push.
 */
export async function commitFiles(repo: GitRepository, req: CommitRequest): Promise<CommitResult> {
  const max = req.maxAttempts ?? 12;
  const ref = branchRef(req.branch);
  // A lost race means another job's push landed: the fleet is making progress. The attempts bound
  // the loop; the time budget is wide because on a busy agent pool one re-read and re-push can
  // take many seconds, and giving up early would fail a job that was only waiting its turn.
  const policy = (req.retry ?? new RetryPolicy({ log: repo.logger })).with({
    maxAttempts: max,
    maxTotalMs: 600_000,
    baseDelayMs: 500,
    maxDelayMs: 5000,
    retryOn: isStalePush,
  });
  let tried = 0;
  try {
    return await policy.run(`the push to ${ref} (the branch moved: re-reading the tip and re-applying)`, (attempt) => {
      tried = attempt;
      return pushOnTip(repo, req, attempt);
    });
  } catch (err) {
    if (!isStalePush(err)) throw err;
    throw new UserError(`Pushing to ${ref} lost the race against other pushes ${tried} times in a row.`, {
      code: 'PushRaceLost',
      cause: 'the branch kept moving between reading its tip and pushing (TF401028): other jobs pushed to it meanwhile',
      fix: 're-run the task (it continues from the branch as it is now), or limit the jobs pushing to one branch at once (maxParallel), or patch every folder in one job (fluxSystemPath clusters/*/flux-system)',
      inner: err,
    });
  }
}

/** One attempt: read the tip, compute the change on it, push it (a stale push is thrown as it is, for the retry). */
async function pushOnTip(repo: GitRepository, req: CommitRequest, attempt: number): Promise<CommitResult> {
  const ref = branchRef(req.branch);
  const tip = await repo.tip(req.branch);
  const base = tip ?? req.startFrom;
  if (!base) {
    throw new UserError(`The branch ${ref} does not exist in ${repo.ref.project}/${repo.ref.repository}.`, {
      code: 'BranchNotFound',
      fix: 'set targetBranch to an existing branch',
    });
  }
  const files = await req.compute(base);
  if (files.length === 0) return { baseCommit: base, attempts: attempt, files };
  try {
    const commitId = await repo.push(req.branch, tip ?? base, req.message, files);
    repo.logger.info(
      `Pushed ${commitId} to ${ref} (${files.length} file${files.length === 1 ? '' : 's'}, on top of ${base}).`,
    );
    return { commitId, baseCommit: base, attempts: attempt, files };
  } catch (err) {
    if (isStalePush(err)) throw err;
    if (isBranchPolicyRefusal(err)) throw new BranchPolicyError(ref, err);
    throw gitAccessError(
      err,
      `push to ${ref}`,
      repo.tokenHolder,
      tip
        ? "the 'Contribute' Git permission on the repository"
        : "the 'Create branch' and 'Contribute' Git permissions on the repository",
    );
  }
}
