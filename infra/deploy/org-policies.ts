import type {DeployOptions} from './deploy-options';
import {saysNotFound, type GcloudRunner} from './gcloud-runner';

/**
 * Organisation policies that can stop this deploy half-way, read by the preflight (read-only:
 * `gcloud org-policies describe --effective`, the policy after inheritance) so that a policy that
 * will refuse a step is named before the first change, with the step it stops.
 */

/** What the preflight knows when it reads the policies. */
export interface PolicyContext {
  readonly options: DeployOptions;
  /** Accounts the deploy would create (a policy against creating them stops it only then). */
  readonly accountsToCreate: number;
  /** The APIs the deploy calls. */
  readonly apis: readonly string[];
}

/** One effective policy's rules, as `--format=json` prints them (Org Policy API v2). */
export interface PolicyRule {
  readonly enforce?: boolean;
  readonly allowAll?: boolean;
  readonly denyAll?: boolean;
  readonly values?: {
    readonly allowedValues?: readonly string[];
    readonly deniedValues?: readonly string[];
  };
  readonly condition?: unknown;
}

/** A policy's verdict on this deploy: undefined (no effect), a note (may matter), or a problem (stops it). */
export type Verdict =
  | undefined
  | {readonly stops: true; readonly line: string}
  | {readonly stops: false; readonly line: string};

interface Check {
  readonly constraint: string;
  readonly judge: (
    rules: readonly PolicyRule[],
    context: PolicyContext,
  ) => Verdict;
}

const stops = (line: string): Verdict => ({stops: true, line});
const note = (line: string): Verdict => ({stops: false, line});

/** Whether a list policy lets `value` through: true, false, or undefined when it cannot tell. */
export function listAllows(
  rules: readonly PolicyRule[],
  value: string,
  matches: (policyValue: string, value: string) => boolean | undefined = (
    a,
    b,
  ) => a === b,
): boolean | undefined {
  const plain = rules.filter(rule => rule.condition === undefined);
  if (plain.length < rules.length && plain.length === 0) return undefined;
  for (const rule of plain) {
    if (rule.denyAll) return false;
    if (rule.allowAll) return true;
    const denied = rule.values?.deniedValues ?? [];
    const deniedHits = denied.map(item => matches(item, value));
    if (deniedHits.includes(true)) return false;
    const allowed = rule.values?.allowedValues;
    if (allowed && allowed.length > 0) {
      const hits = allowed.map(item => matches(item, value));
      if (hits.includes(true)) return true;
      return hits.includes(undefined) ? undefined : false;
    }
    if (deniedHits.includes(undefined)) return undefined;
  }
  return true;
}

function enforced(rules: readonly PolicyRule[]): boolean {
  return rules.some(
    rule => rule.enforce === true && rule.condition === undefined,
  );
}

/**
 * `in:` value groups, the common ones only: a location is in `in:eu-locations` when it is a
 * europe-* region or a eur* multi-region, and so on. Another group cannot be told offline: undefined.
 */
export function locationMatches(
  item: string,
  location: string,
): boolean | undefined {
  const value = item.replace(/^(is|under):/, '');
  if (value === location || value === `in:${location}-locations`) return true;
  const group = /^in:([a-z0-9-]+)-locations$/.exec(value)?.[1];
  if (group === undefined) return false;
  const families: Record<string, RegExp> = {
    eu: /^(europe-|eur\d)/,
    europe: /^(europe-|eur\d)/,
    us: /^(us-|nam\d)/,
    asia: /^asia-/,
  };
  const family = families[group];
  if (family) return family.test(location);
  // A region's own group (in:europe-west1-locations) names one region; another region is not in it.
  if (/^[a-z]+-[a-z]+\d+$/.test(group)) return false;
  return undefined;
}

const CHECKS: readonly Check[] = [
  ...[
    'iam.disableServiceAccountCreation',
    'iam.managed.disableServiceAccountCreation',
  ].map((constraint): Check => ({
    constraint,
    judge: (rules, {accountsToCreate, options}) =>
      enforced(rules) && accountsToCreate > 0
        ? stops(
            `organization policy ${constraint} forbids creating service accounts, and ${accountsToCreate} are missing: have an administrator create them, or name existing ones (--runtime-service-account, --build-service-account, ...) in project ${options.project}`,
          )
        : undefined,
  })),
  {
    constraint: 'gcp.resourceLocations',
    judge: (rules, {options}) => {
      const places = [
        ['the functions, in region', options.region],
        ['the database, in', options.databaseLocation ?? options.region],
      ] as const;
      for (const [what, location] of places) {
        const allowed = listAllows(rules, location, locationMatches);
        if (allowed === false)
          return stops(
            `organization policy gcp.resourceLocations does not allow ${location}: ${what} ${location} would be refused; deploy to an allowed --region (and --database-location)`,
          );
        if (allowed === undefined)
          return note(
            `organization policy gcp.resourceLocations restricts locations in a way the preflight cannot resolve offline; check that ${location} is allowed`,
          );
      }
      return undefined;
    },
  },
  ...['iam.allowedPolicyMemberDomains', 'iam.managed.allowedPolicyMembers'].map(
    (constraint): Check => ({
      constraint,
      judge: rules =>
        rules.length > 0 && !rules.every(rule => rule.allowAll)
          ? note(
              `organization policy ${constraint} (domain-restricted sharing) is set: the deploy grants roles only to service accounts of this project and to Google's Pub/Sub service agent; if a grant to the agent is refused, an administrator must allow Google's service agents`,
            )
          : undefined,
    }),
  ),
  {
    constraint: 'gcp.restrictServiceUsage',
    judge: (rules, {apis}) => {
      const refused = apis.filter(api => listAllows(rules, api) === false);
      return refused.length > 0
        ? stops(
            `organization policy gcp.restrictServiceUsage does not allow ${refused.join(', ')}, which the deploy needs`,
          )
        : undefined;
    },
  },
  {
    constraint: 'cloudfunctions.restrictAllowedGenerations',
    judge: rules =>
      listAllows(rules, 'GEN_2') === false
        ? stops(
            'organization policy cloudfunctions.restrictAllowedGenerations does not allow GEN_2: every function is deployed with --gen2',
          )
        : undefined,
  },
  {
    constraint: 'cloudfunctions.allowedIngressSettings',
    judge: rules =>
      listAllows(rules, 'ALLOW_ALL') === false
        ? stops(
            'organization policy cloudfunctions.allowedIngressSettings does not allow ALLOW_ALL, the ingress the functions are deployed with (they are private by IAM, not by network): gcloud functions deploy would be refused',
          )
        : undefined,
  },
  {
    constraint: 'run.allowedIngress',
    judge: rules =>
      listAllows(rules, 'all') === false
        ? stops(
            'organization policy run.allowedIngress does not allow "all", the ingress of the functions\' Cloud Run services: gcloud functions deploy would be refused',
          )
        : undefined,
  },
  {
    constraint: 'cloudfunctions.requireVPCConnector',
    judge: (rules, {options}) =>
      enforced(rules) && options.vpcConnector === undefined
        ? stops(
            'organization policy cloudfunctions.requireVPCConnector requires a Serverless VPC Access connector: deploy with --vpc-connector CONNECTOR',
          )
        : undefined,
  },
  {
    constraint: 'cloudfunctions.allowedVpcConnectorEgressSettings',
    judge: (rules, {options}) => {
      if (options.vpcConnector === undefined) return undefined;
      const egress =
        options.vpcEgress === 'all' ? 'ALL_TRAFFIC' : 'PRIVATE_RANGES_ONLY';
      return listAllows(rules, egress) === false
        ? stops(
            `organization policy cloudfunctions.allowedVpcConnectorEgressSettings does not allow ${egress}: choose the other --vpc-egress`,
          )
        : undefined;
    },
  },
  {
    constraint: 'run.allowedVPCEgress',
    judge: (rules, {options}) => {
      const egress =
        options.vpcConnector === undefined &&
        (options.network ?? options.subnet) === undefined
          ? undefined
          : options.vpcEgress === 'all'
            ? 'all-traffic'
            : 'private-ranges-only';
      return egress !== undefined && listAllows(rules, egress) === false
        ? stops(
            `organization policy run.allowedVPCEgress does not allow ${egress}: choose the other --vpc-egress`,
          )
        : undefined;
    },
  },
];

/** Every constraint the preflight reads, in order. */
export const READ_CONSTRAINTS: readonly string[] = CHECKS.map(
  check => check.constraint,
);

export function orgPolicyCommand(
  options: DeployOptions,
  constraint: string,
): string[] {
  return [
    'org-policies',
    'describe',
    constraint,
    '--effective',
    `--project=${options.project}`,
    '--format=json',
  ];
}

/** What the policies say: problems stop the deploy; notes are printed and it goes on. */
export interface PolicyFindings {
  readonly problems: string[];
  readonly notes: string[];
}

/** The effective policies read, by constraint (absent: none set), and why some could not be. */
export interface PoliciesRead {
  readonly rules: ReadonlyMap<string, readonly PolicyRule[]>;
  readonly notes: readonly string[];
}

/**
 * Reads each constraint's effective policy. A policy that cannot be read (the Org Policy API off,
 * no orgpolicy.policy.get) is a note, not a stop: the deploy does not need it, only the check does,
 * and the first such failure ends the reading with one note.
 */
export async function readOrgPolicies(
  gcloud: GcloudRunner,
  options: DeployOptions,
): Promise<PoliciesRead> {
  const rules = new Map<string, readonly PolicyRule[]>();
  const notes: string[] = [];
  for (const {constraint} of CHECKS) {
    const args = orgPolicyCommand(options, constraint);
    const result = await gcloud(args);
    if (saysNotFound(result)) continue;
    if (result.code !== 0) {
      notes.push(
        `could not read organization policies (gcloud ${args.slice(0, 3).join(' ')} exited ${result.code}: ${firstLine(result.stderr)}); the preflight cannot tell whether one stops the deploy (enable orgpolicy.googleapis.com, or have roles/orgpolicy.policyViewer)`,
      );
      break;
    }
    rules.set(constraint, rulesOf(result.stdout));
  }
  return {rules, notes};
}

/** Each policy read, judged against this deploy. */
export function judgeOrgPolicies(
  read: PoliciesRead,
  context: PolicyContext,
): PolicyFindings {
  const findings: PolicyFindings = {problems: [], notes: [...read.notes]};
  for (const check of CHECKS) {
    const rules = read.rules.get(check.constraint);
    if (rules === undefined) continue;
    const verdict = check.judge(rules, context);
    if (verdict)
      (verdict.stops ? findings.problems : findings.notes).push(verdict.line);
  }
  return findings;
}

/** The rules of `describe --effective --format=json`; no spec (no policy set) means none. */
export function rulesOf(stdout: string): PolicyRule[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout.trim() || '{}');
  } catch {
    throw new Error(
      `an organization policy that is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`,
    );
  }
  const rules = (parsed as {spec?: {rules?: unknown}} | null)?.spec?.rules;
  return Array.isArray(rules) ? (rules as PolicyRule[]) : [];
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
