import type { z } from 'zod';

/**
 * Zod's issues in the words of the person who typed the value: what is wrong and what a valid
 * value looks like, never the validator's "expected string, received undefined". One mapping for
 * every place user input is validated (options, policy files, job files), so that a newcomer reads
 * the same kind of sentence everywhere. The value itself is never quoted: it may be a secret.
 */

type Issue = z.core.$ZodIssue;

const TYPE_WORDS: Record<string, string> = {
  string: 'a text value',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value lines)',
  record: 'a mapping (key: value lines)',
};

const RECEIVED_WORDS: Record<string, string> = {
  string: 'a text value',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  null: 'nothing',
};

/**
 * What the value was, from zod's own message ("…, received string"): zod leaves the input out of
 * its issues unless asked, and asking would put values (perhaps secrets) into the error objects.
 */
function receivedOf(issue: Issue): string | undefined {
  return /received (\w+)$/.exec(issue.message)?.[1];
}

/** Whether the issue says the value is absent (a required field nobody gave). */
export function isMissing(issue: Issue): boolean {
  return issue.code === 'invalid_type' && receivedOf(issue) === 'undefined';
}

/** What is wrong with a value, as the end of a sentence: "must be a number", "must be one of a, b". */
export function problemOf(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const wanted = TYPE_WORDS[issue.expected] ?? issue.expected;
      const received = receivedOf(issue);
      if (received === 'undefined') return 'is required';
      // NaN is what the flag parsers make of text that is not a whole number of 0 or more.
      if (received === 'NaN') return 'must be a whole number (0 or more)';
      const got = received ? RECEIVED_WORDS[received] : undefined;
      return `must be ${wanted}${got ? `, not ${got}` : ''}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${String(issue.values[0])}`
        : `must be one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string')
        return Number(issue.minimum) <= 1 ? 'must not be empty' : `needs at least ${issue.minimum} characters`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `needs at least ${issue.minimum} entr${Number(issue.minimum) === 1 ? 'y' : 'ies'}`;
      return `must be at least ${issue.minimum}${issue.inclusive === false ? ' (exclusive)' : ''}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array' || issue.origin === 'set') return `may have at most ${issue.maximum} entries`;
      return `must be at most ${issue.maximum}`;
    case 'invalid_format':
      if (issue.format === 'url') return 'must be a URL (scheme://host…)';
      return customOr(issue, `has the wrong form (expected ${issue.format})`);
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return `has unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    case 'invalid_union':
      return 'matches none of the accepted forms';
    default:
      return issue.message;
  }
}

/** Zod's own messages start like this; anything else was written by us for this field. */
const ZOD_DEFAULT_RE = /^(Invalid|Too (small|big)|Expected|Unrecognized)/;

function customOr(issue: Issue, fallback: string): string {
  return ZOD_DEFAULT_RE.test(issue.message) ? fallback : issue.message;
}

/**
 * The sentence we wrote for this rule ourselves (a `custom` refinement, or a message given to a
 * check such as `.regex(re, 'an environment variable name: …')`); undefined for zod's own wording.
 */
export function ownMessageOf(issue: Issue): string | undefined {
  return issue.code === 'custom' || !ZOD_DEFAULT_RE.test(issue.message) ? issue.message : undefined;
}

/**
 * One issue of a document (a policy or job file): `<label> <problem>`, where the label names the
 * entry and field. A rule we worded ourselves keeps its own sentence.
 */
export function describeDocumentIssue(label: string, issue: Issue): string {
  const own = ownMessageOf(issue);
  return own !== undefined ? `${label}: ${own}` : `${label} ${problemOf(issue)}`;
}
