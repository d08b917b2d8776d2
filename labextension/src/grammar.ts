/**
 * The `%%dj_table` cell language as a CodeMirror stream parser.
 *
 * Line 1 is the magic line (`%%dj_table Name [tier] [--schema name]`); then the table
 * definition, line by line: a `# comment`, the `---` divider, `-> Parent` references (with
 * `[nullable]` options and `.proj(new="old")`), `index(...)` lines and attribute lines
 * `name [= default] : type [# comment]`, where a type may be a codec `<blob@store>`. After the
 * line `# --- python ---` the rest of the cell is Python, tokenized by CodeMirror's Python mode.
 *
 * Token names start with `dj` (see TOKEN_NAMES); the Python part yields the Python mode's own
 * names (`keyword`, `string`, ...). Pure: no DOM, so the node tests run it directly.
 */
import { StreamParser, StringStream } from '@codemirror/language';
import { python } from '@codemirror/legacy-modes/mode/python';

export const PYTHON_MARKER = '# --- python ---';
export const TIERS = ['manual', 'lookup', 'imported', 'computed'];

/** Every token name the definition part yields (each gets a tag and a CSS class). */
export const TOKEN_NAMES = [
  'djMagic',
  'djClass',
  'djTier',
  'djOption',
  'djComment',
  'djDivider',
  'djArrow',
  'djReference',
  'djProj',
  'djBracket',
  'djAttribute',
  'djOperator',
  'djDefault',
  'djType',
  'djCodec',
  'djStore',
  'djIndex',
  'djMarker',
  'djError'
] as const;
export type TokenName = (typeof TOKEN_NAMES)[number];

type Phase =
  | 'start' // beginning of a definition line
  | 'attribute' // after the attribute name: `=` or `:`
  | 'default' // after `=`, up to `:`
  | 'type' // after `:`
  | 'reference' // after `->`
  | 'proj' // inside `.proj(...)`
  | 'index' // inside `index(...)`
  | 'magic' // the magic line
  | 'rest'; // nothing more expected on this line

export interface DjTableState {
  line: number; // 0 for the magic line
  python: unknown | null; // the Python mode's state once past the marker
  phase: Phase;
  magicWords: number; // words seen on the magic line
}

const IDENT = /^[A-Za-z_]\w*/;
const DOTTED = /^[A-Za-z_]\w*(?:\.(?!proj\b)[A-Za-z_]\w*)*/;
const STRING = /^(?:"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)/;
const NUMBER = /^-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?/;

function comment(stream: StringStream): TokenName {
  stream.skipToEnd();
  return 'djComment';
}

function magicLine(stream: StringStream, state: DjTableState): TokenName | null {
  if (stream.eatSpace()) {
    return null;
  }
  if (stream.match('%%dj_table')) {
    return 'djMagic';
  }
  if (stream.match(/^--schema\b/)) {
    state.magicWords = -1; // the next word is a schema name
    return 'djOption';
  }
  const word = stream.match(/^\S+/) as RegExpMatchArray | null;
  if (!word) {
    stream.next();
    return null;
  }
  if (state.magicWords === -1) {
    state.magicWords = 2;
    return 'djReference';
  }
  state.magicWords += 1;
  if (state.magicWords === 1) {
    return 'djClass';
  }
  return TIERS.includes(word[0].toLowerCase()) ? 'djTier' : 'djError';
}

function lineStart(stream: StringStream, state: DjTableState): TokenName | null {
  if (stream.match(/^-{3,}\s*$/) || stream.match(/^_{3,}\s*$/)) {
    return 'djDivider';
  }
  if (stream.peek() === '#') {
    return comment(stream);
  }
  if (stream.match('->')) {
    state.phase = 'reference';
    return 'djArrow';
  }
  if (stream.match(/^(?:unique\s+)?index(?=\s*\()/)) {
    state.phase = 'index';
    return 'djIndex';
  }
  if (stream.match(IDENT)) {
    state.phase = 'attribute';
    return 'djAttribute';
  }
  stream.skipToEnd();
  return 'djError';
}

function reference(stream: StringStream, state: DjTableState): TokenName | null {
  if (stream.peek() === '#') {
    return comment(stream);
  }
  if (stream.match(/^\[[^\]]*\]?/)) {
    return 'djOption';
  }
  if (stream.match(/^\.proj\b/)) {
    return 'djProj';
  }
  if (stream.match('(')) {
    state.phase = 'proj';
    return 'djBracket';
  }
  if (stream.match(DOTTED)) {
    return 'djReference';
  }
  stream.next();
  return 'djError';
}

function inParentheses(stream: StringStream, state: DjTableState): TokenName | null {
  if (stream.match(')')) {
    state.phase = state.phase === 'proj' ? 'reference' : 'rest';
    return 'djBracket';
  }
  if (stream.match(STRING)) {
    return 'djAttribute';
  }
  if (stream.match(IDENT)) {
    return 'djAttribute';
  }
  if (stream.match(/^[=,(]/)) {
    return 'djOperator';
  }
  stream.next();
  return 'djError';
}

function afterName(stream: StringStream, state: DjTableState): TokenName | null {
  if (stream.match('=')) {
    state.phase = 'default';
    return 'djOperator';
  }
  if (stream.match(':')) {
    state.phase = 'type';
    return 'djOperator';
  }
  if (stream.peek() === '#') {
    return comment(stream);
  }
  stream.next();
  return 'djError';
}

function defaultValue(stream: StringStream, state: DjTableState): TokenName | null {
  if (stream.match(':')) {
    state.phase = 'type';
    return 'djOperator';
  }
  if (stream.match(STRING) || stream.match(NUMBER)) {
    return 'djDefault';
  }
  stream.match(/^[^:"'\s]+/) || stream.next();
  return 'djDefault';
}

function typeSpec(stream: StringStream, state: DjTableState): TokenName | null {
  if (stream.peek() === '#') {
    return comment(stream);
  }
  if (stream.match(/^<\w*/)) {
    return 'djCodec';
  }
  if (stream.match(/^@\w*/)) {
    return 'djStore';
  }
  if (stream.match('>')) {
    return 'djCodec';
  }
  if (stream.match(STRING) || stream.match(NUMBER) || stream.match(IDENT)) {
    return 'djType';
  }
  if (stream.match(/^[(),]/)) {
    return 'djType';
  }
  stream.next();
  return 'djError';
}

function definitionToken(stream: StringStream, state: DjTableState): TokenName | null {
  if (stream.eatSpace()) {
    return null;
  }
  switch (state.phase) {
    case 'start':
      return lineStart(stream, state);
    case 'attribute':
      return afterName(stream, state);
    case 'default':
      return defaultValue(stream, state);
    case 'type':
      return typeSpec(stream, state);
    case 'reference':
      return reference(stream, state);
    case 'proj':
    case 'index':
      return inParentheses(stream, state);
    default:
      return stream.peek() === '#' ? comment(stream) : (stream.next(), 'djError');
  }
}

function startLine(stream: StringStream, state: DjTableState): void {
  state.line += 1;
  state.phase = state.line === 0 ? 'magic' : 'start';
}

/** A copy of the Python mode's state (it has no copyState of its own: CodeMirror's default
 * copies each array one level deep, and so does this). */
function copyPythonState(state: unknown): unknown {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(state as Record<string, unknown>)) {
    copy[key] = Array.isArray(value) ? value.slice() : value;
  }
  return copy;
}

export const djTableParser: StreamParser<DjTableState> = {
  name: 'dj_table',
  startState: () => ({ line: -1, python: null, phase: 'magic', magicWords: 0 }),
  copyState: (state: DjTableState) => ({
    ...state,
    python: state.python === null ? null : copyPythonState(state.python)
  }),
  blankLine: (state: DjTableState) => {
    state.line += 1;
  },
  token: (stream: StringStream, state: DjTableState): string | null => {
    if (state.python !== null) {
      return python.token(stream, state.python as never);
    }
    if (stream.sol()) {
      startLine(stream, state);
      if (state.line > 0 && stream.string.trim() === PYTHON_MARKER) {
        stream.skipToEnd();
        state.python = python.startState!(4);
        return 'djMarker';
      }
    }
    return state.phase === 'magic' ? magicLine(stream, state) : definitionToken(stream, state);
  },
  languageData: { commentTokens: { line: '#' } }
};

/** True when a cell's source is a `%%dj_table` cell (its first line is the magic). */
export function isDjTableCell(source: string): boolean {
  return /^\s*%%dj_table\b/.test(source);
}

/** The 1-based cell line a `%%dj_table` error names (`cell line N`), or null. */
export function errorLine(message: string): number | null {
  const found = /%%dj_table \w+: cell line (\d+)/.exec(message);
  return found ? Number(found[1]) : null;
}
