/**
 * Tokens of the `%%dj_table` grammar, construct by construct (node's built-in test runner:
 * `npm test`). Each case tokenizes a whole cell the way CodeMirror does, line by line.
 */
import { StringStream } from '@codemirror/language';
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { djTableParser, errorLine, isDjTableCell } from '../src/grammar';

type Token = [string, string]; // [text, token name]

/** Every non-space token of `cell` as [text, name]. */
function tokens(cell: string): Token[] {
  const state = djTableParser.startState!(4);
  const found: Token[] = [];
  for (const line of cell.split('\n')) {
    if (line === '') {
      djTableParser.blankLine!(state, 4);
      continue;
    }
    const stream = new StringStream(line, 4, 4);
    while (!stream.eol()) {
      const style = djTableParser.token(stream, state);
      const text = stream.current();
      if (stream.pos === stream.start) {
        throw new Error(`no progress at ${stream.pos} of ${JSON.stringify(line)}`);
      }
      if (style !== null && text.trim()) {
        found.push([text, style]);
      }
      stream.start = stream.pos;
    }
  }
  return found;
}

/** The tokens of one definition line (after a magic line). */
function line(text: string): Token[] {
  return tokens(`%%dj_table T\n${text}`).slice(2);
}

test('the magic line: magic, class name, tier, --schema', () => {
  assert.deepEqual(tokens('%%dj_table Session computed --schema lab'), [
    ['%%dj_table', 'djMagic'],
    ['Session', 'djClass'],
    ['computed', 'djTier'],
    ['--schema', 'djOption'],
    ['lab', 'djReference']
  ]);
  assert.deepEqual(tokens('%%dj_table Session sometimes')[2], ['sometimes', 'djError']);
});

test('an attribute line: name, type, comment', () => {
  assert.deepEqual(line('subject_id : int32  # the animal'), [
    ['subject_id', 'djAttribute'],
    [':', 'djOperator'],
    ['int32', 'djType'],
    ['# the animal', 'djComment']
  ]);
});

test('types with arguments and enums', () => {
  assert.deepEqual(line('name: varchar(32)'), [
    ['name', 'djAttribute'],
    [':', 'djOperator'],
    ['varchar', 'djType'],
    ['(', 'djType'],
    ['32', 'djType'],
    [')', 'djType']
  ]);
  assert.deepEqual(line("sex: enum('F', 'M')").map(t => t[1]).slice(2), [
    'djType', 'djType', 'djType', 'djType', 'djType', 'djType'
  ]);
});

test('defaults: strings, numbers, NULL and expressions', () => {
  assert.deepEqual(line('name = "unknown" : varchar(16)').slice(0, 4), [
    ['name', 'djAttribute'],
    ['=', 'djOperator'],
    ['"unknown"', 'djDefault'],
    [':', 'djOperator']
  ]);
  assert.deepEqual(line('weight = 0.5: float64')[2], ['0.5', 'djDefault']);
  assert.deepEqual(line('note = null : varchar(8)')[2], ['null', 'djDefault']);
  assert.deepEqual(line('ts = CURRENT_TIMESTAMP : datetime')[2], ['CURRENT_TIMESTAMP', 'djDefault']);
});

test('codecs with and without a store', () => {
  assert.deepEqual(line('trace : <blob@raw>  # big'), [
    ['trace', 'djAttribute'],
    [':', 'djOperator'],
    ['<blob', 'djCodec'],
    ['@raw', 'djStore'],
    ['>', 'djCodec'],
    ['# big', 'djComment']
  ]);
  assert.deepEqual(line('image : <blob>').slice(2), [
    ['<blob', 'djCodec'],
    ['>', 'djCodec']
  ]);
  assert.deepEqual(line('image : <blob@>').slice(2), [
    ['<blob', 'djCodec'],
    ['@', 'djStore'],
    ['>', 'djCodec']
  ]);
});

test('the divider and comment lines', () => {
  assert.deepEqual(line('---'), [['---', 'djDivider']]);
  assert.deepEqual(line('___'), [['___', 'djDivider']]);
  assert.deepEqual(line('# a table comment'), [['# a table comment', 'djComment']]);
});

test('references: plain, dotted, with options and with .proj', () => {
  assert.deepEqual(line('-> Subject'), [
    ['->', 'djArrow'],
    ['Subject', 'djReference']
  ]);
  assert.deepEqual(line('-> [nullable] Recording.Channel'), [
    ['->', 'djArrow'],
    ['[nullable]', 'djOption'],
    ['Recording.Channel', 'djReference']
  ]);
  assert.deepEqual(line('-> Subject.proj(mother="subject_id")  # the mother'), [
    ['->', 'djArrow'],
    ['Subject', 'djReference'],
    ['.proj', 'djProj'],
    ['(', 'djBracket'],
    ['mother', 'djAttribute'],
    ['=', 'djOperator'],
    ['"subject_id"', 'djAttribute'],
    [')', 'djBracket'],
    ['# the mother', 'djComment']
  ]);
});

test('index lines', () => {
  assert.deepEqual(line('unique index(name, day)'), [
    ['unique index', 'djIndex'],
    ['(', 'djOperator'],
    ['name', 'djAttribute'],
    [',', 'djOperator'],
    ['day', 'djAttribute'],
    [')', 'djBracket']
  ]);
  assert.deepEqual(line('index (day)')[0], ['index', 'djIndex']);
});

test('after the python marker the rest is Python', () => {
  const cell = '%%dj_table Squared computed\n-> Number\n---\nsquared : int64\n' +
    '# --- python ---\ndef make(self, key):\n    n = "x"  # note\n    return None';
  const found = tokens(cell);
  const marker = found.findIndex(t => t[1] === 'djMarker');
  assert.deepEqual(found[marker], ['# --- python ---', 'djMarker']);
  const python = found.slice(marker + 1);
  assert.ok(python.every(t => !t[1].startsWith('dj')), JSON.stringify(python));
  assert.deepEqual(python.slice(0, 2), [['def', 'keyword'], ['make', 'def']]);
  assert.ok(python.some(t => t[0] === '"x"' && t[1] === 'string'));
  assert.ok(python.some(t => t[0] === '# note' && t[1] === 'comment'));
});

test('blank lines keep the line count; a --- in Python stays Python', () => {
  const found = tokens('%%dj_table T\n\na : int32\n# --- python ---\nx = 1\n---');
  assert.deepEqual(found[2], ['a', 'djAttribute']);
  assert.ok(!found.some(t => t[1] === 'djDivider'));
});

test('isDjTableCell and errorLine', () => {
  assert.ok(isDjTableCell('%%dj_table T\na : int32'));
  assert.ok(!isDjTableCell('x = 1\n%%dj_table T'));
  assert.equal(errorLine("%%dj_table Session: cell line 3: 'x : nope'\nunknown type"), 3);
  assert.equal(errorLine('some other error'), null);
});

test('a state copied inside the Python part goes on tokenizing Python', () => {
  const state = djTableParser.startState!(4);
  for (const text of ['%%dj_table T', 'a : int32', '# --- python ---', 'def make(self, key):']) {
    const stream = new StringStream(text, 4, 4);
    while (!stream.eol()) {
      djTableParser.token(stream, state);
      stream.start = stream.pos;
    }
  }
  const copy = djTableParser.copyState!(state);
  assert.notEqual(copy, state);
  const stream = new StringStream('    return None', 4, 4);
  const names: string[] = [];
  while (!stream.eol()) {
    const style = djTableParser.token(stream, copy);
    if (style) {
      names.push(style);
    }
    stream.start = stream.pos;
  }
  assert.deepEqual(names, ['keyword', 'keyword']);
});
