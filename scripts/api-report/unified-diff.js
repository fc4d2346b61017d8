/**
 * A unified diff of two texts, line by line (longest common subsequence after trimming the common
 * head and tail, which leaves a report's usual change small). No dependency: the check runs in CI
 * before anything else is needed.
 */
/* global module */ // Node's CommonJS globals: this file is not TypeScript.
'use strict';

const CONTEXT = 3;
/** Above this many cells, the table would cost too much memory: the diff says the texts differ throughout. */
const MAX_CELLS = 40_000_000;

/** [{op: ' ' | '-' | '+', line, oldNo, newNo}] for the whole of both texts. */
function lineEdits(oldLines, newLines) {
  let head = 0;
  while (
    head < oldLines.length &&
    head < newLines.length &&
    oldLines[head] === newLines[head]
  ) {
    head++;
  }
  let tail = 0;
  while (
    tail < oldLines.length - head &&
    tail < newLines.length - head &&
    oldLines[oldLines.length - 1 - tail] ===
      newLines[newLines.length - 1 - tail]
  ) {
    tail++;
  }
  const a = oldLines.slice(head, oldLines.length - tail);
  const b = newLines.slice(head, newLines.length - tail);
  const middle = [];
  if ((a.length + 1) * (b.length + 1) > MAX_CELLS) {
    for (const line of a) middle.push({op: '-', line});
    for (const line of b) middle.push({op: '+', line});
  } else {
    // lcs[i][j]: longest common subsequence of a[i..] and b[j..], one row per i.
    const width = b.length + 1;
    const lcs = new Uint32Array((a.length + 1) * width);
    for (let i = a.length - 1; i >= 0; i--) {
      for (let j = b.length - 1; j >= 0; j--) {
        lcs[i * width + j] =
          a[i] === b[j]
            ? lcs[(i + 1) * width + j + 1] + 1
            : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (i < a.length && j < b.length && a[i] === b[j]) {
        middle.push({op: ' ', line: a[i++]});
        j++;
      } else if (
        j < b.length &&
        (i === a.length || lcs[i * width + j + 1] >= lcs[(i + 1) * width + j])
      ) {
        middle.push({op: '+', line: b[j++]});
      } else {
        middle.push({op: '-', line: a[i++]});
      }
    }
  }
  const edits = [
    ...oldLines.slice(0, head).map(line => ({op: ' ', line})),
    ...middle,
    ...oldLines.slice(oldLines.length - tail).map(line => ({op: ' ', line})),
  ];
  let oldNo = 1;
  let newNo = 1;
  for (const edit of edits) {
    edit.oldNo = oldNo;
    edit.newNo = newNo;
    if (edit.op !== '+') oldNo++;
    if (edit.op !== '-') newNo++;
  }
  return edits;
}

/** The diff in unified format with 3 lines of context; '' when the texts are equal. */
function unifiedDiff(oldText, newText, oldName, newName) {
  const edits = lineEdits(oldText.split('\n'), newText.split('\n'));
  const changes = edits
    .map((edit, index) => (edit.op === ' ' ? -1 : index))
    .filter(index => index >= 0);
  if (changes.length === 0) return '';
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  let k = 0;
  while (k < changes.length) {
    const start = Math.max(0, changes[k] - CONTEXT);
    let end = Math.min(edits.length, changes[k] + CONTEXT + 1);
    while (k + 1 < changes.length && changes[k + 1] - CONTEXT <= end) {
      k++;
      end = Math.min(edits.length, changes[k] + CONTEXT + 1);
    }
    k++;
    const hunk = edits.slice(start, end);
    const oldCount = hunk.filter(edit => edit.op !== '+').length;
    const newCount = hunk.filter(edit => edit.op !== '-').length;
    out.push(
      `@@ -${hunk[0].oldNo},${oldCount} +${hunk[0].newNo},${newCount} @@`,
      ...hunk.map(edit => edit.op + edit.line),
    );
  }
  return out.join('\n');
}

module.exports = {unifiedDiff};
