/**
 * Whether removing members keeps etcd able to commit writes. etcd needs a majority of its voting
 * members (learners do not vote) to be up: with n voters the quorum is floor(n/2)+1. Removing a
 * member lowers n, but the members that are down still count against the new quorum until they are
 * removed too, so the check is on the voters that remain and how many of them are healthy.
 */
export interface QuorumInput {
  /** Voting members now, by name. */
  voters: readonly string[];
  /** Voting members that answered a health check. */
  healthy: ReadonlySet<string>;
  /** Members the user asks to remove. */
  removing: readonly string[];
}

export interface QuorumVerdict {
  ok: boolean;
  /** One sentence with the numbers, for the error or the plan. */
  explanation: string;
}

export const quorumOf = (voters: number) => Math.floor(voters / 2) + 1;

export function checkQuorumAfterRemoval(input: QuorumInput): QuorumVerdict {
  const removing = new Set(input.removing);
  const remaining = input.voters.filter((v) => !removing.has(v));
  if (remaining.length === 0) {
    return {
      ok: false,
      explanation: `removing ${input.removing.join(', ')} would leave no etcd member (and no control plane): a cluster keeps at least one master`,
    };
  }
  const up = remaining.filter((v) => input.healthy.has(v)).length;
  const need = quorumOf(remaining.length);
  const numbers = `${remaining.length} member(s) would remain, ${up} of them healthy, and etcd needs ${need} of ${remaining.length} for quorum`;
  if (up < need) return { ok: false, explanation: `${numbers}: writes would stop` };
  const tolerates = up - need;
  return {
    ok: true,
    explanation: `${numbers}; it would tolerate ${tolerates} more failure(s)`,
  };
}
