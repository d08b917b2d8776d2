/**
 * The `%%dj_table` language in notebook cells: the CodeMirror language, the per-cell switch
 * to it, the marking of the line a magic's error names, and completion as people type.
 */
import {
  HighlightStyle,
  language as languageFacet,
  LanguageSupport,
  StreamLanguage,
  syntaxHighlighting
} from '@codemirror/language';
import { Extension, StateEffect, StateField } from '@codemirror/state';
import { Decoration, DecorationSet, EditorView, ViewUpdate } from '@codemirror/view';
import { Cell, ICodeCellModel } from '@jupyterlab/cells';
import {
  CodeMirrorEditor,
  EditorExtensionRegistry,
  IEditorLanguageRegistry
} from '@jupyterlab/codemirror';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Tag } from '@lezer/highlight';

import { djTableParser, errorLine, isDjTableCell, TOKEN_NAMES } from './grammar';

export const MIME = 'text/x-dj-table';

const TAGS: Record<string, Tag> = Object.fromEntries(TOKEN_NAMES.map(name => [name, Tag.define()]));

/** `djAttribute` -> `cm-dj-attribute`: the class a token of that name gets on the page. */
export function tokenClass(name: string): string {
  return 'cm-dj-' + name.slice(2).toLowerCase();
}

const STYLE = HighlightStyle.define(
  TOKEN_NAMES.map(name => ({ tag: TAGS[name], class: tokenClass(name) }))
);

/** The language support for `text/x-dj-table` (definition tokens get `cm-dj-*` classes). */
export function djTableLanguage(): LanguageSupport {
  const language = StreamLanguage.define({ ...djTableParser, tokenTable: TAGS });
  return new LanguageSupport(language, [syntaxHighlighting(STYLE)]);
}

// -- one cell, one language -----------------------------------------------------------------

/** Give every `%%dj_table` cell of the notebook our language and every other code cell the
 * notebook's own, now and whenever a cell's source or the notebook's language changes.
 *
 * An editor loads the language of each mime type change asynchronously and applies whichever
 * load finishes last. The notebook's language (e.g. IPython, when the kernel's info arrives)
 * loads lazily, so a switch made while it still loads would be undone: each switch first
 * waits until the notebook's own language has loaded. */
export function followDjTableCells(panel: NotebookPanel, languages: IEditorLanguageRegistry): void {
  const notebook = panel.content;
  const apply = async () => {
    await languages.getLanguage(notebook.codeMimetype).catch(() => null);
    for (const cell of notebook.widgets) {
      if (cell.model.type !== 'code') {
        continue;
      }
      const model = cell.model as ICodeCellModel;
      const wanted = isDjTableCell(model.sharedModel.getSource())
        ? MIME
        : notebook.codeMimetype;
      if (model.mimeType !== wanted) {
        model.mimeType = wanted;
      }
    }
    setTimeout(verify, 500);
  };
  // Should a slower load still have won the race, switch such a cell once more.
  const verify = () => {
    for (const cell of notebook.widgets) {
      if (cell.model.mimeType !== MIME || !(cell.editor instanceof CodeMirrorEditor)) {
        continue;
      }
      if (cell.editor.editor.state.facet(languageFacet)?.name !== 'dj_table') {
        const model = cell.model as ICodeCellModel;
        model.mimeType = notebook.codeMimetype;
        model.mimeType = MIME;
      }
    }
  };
  notebook.model?.contentChanged.connect(apply);
  notebook.modelContentChanged.connect(apply);
  panel.sessionContext.kernelChanged.connect(() => setTimeout(apply, 0));
  notebook.model?.metadataChanged.connect(() => setTimeout(apply, 0));
  panel.context.ready.then(apply);
  // The notebook resets every cell's mime type when the kernel's language info arrives.
  panel.sessionContext.statusChanged.connect(() => setTimeout(apply, 0));
  apply();
}

// -- the line an error names ---------------------------------------------------------------

const setErrorLine = StateEffect.define<number | null>();
const errorMark = Decoration.line({ class: 'cm-dj-error-line' });

const errorLineField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    marks = marks.map(tr.changes);
    for (const effect of tr.effects) {
      if (effect.is(setErrorLine)) {
        const number = effect.value;
        marks =
          number !== null && number >= 1 && number <= tr.state.doc.lines
            ? Decoration.set([errorMark.range(tr.state.doc.line(number).from)])
            : Decoration.none;
      }
    }
    return marks;
  },
  provide: field => EditorView.decorations.from(field)
});

/** The editor extension that can show an error line (added to every editor). */
export const errorLineExtension = {
  name: 'dj-jupyter:error-line',
  factory: () => EditorExtensionRegistry.createImmutableExtension(errorLineField)
};

/** After a cell ran: mark the line its `%%dj_table` error names, or clear the mark. */
export function markErrorLine(cell: Cell): void {
  if (cell.model.type !== 'code' || !(cell.editor instanceof CodeMirrorEditor)) {
    return;
  }
  const model = cell.model as ICodeCellModel;
  let line: number | null = null;
  if (isDjTableCell(model.sharedModel.getSource())) {
    for (let i = 0; i < model.outputs.length; i++) {
      const output = model.outputs.get(i).toJSON() as Record<string, unknown>;
      const text = [output.evalue, output.text, output.traceback]
        .flat()
        .filter(x => typeof x === 'string')
        .join('\n');
      line = line ?? errorLine(text);
    }
  }
  cell.editor.editor.dispatch({ effects: setErrorLine.of(line) });
}

// -- completion as people type -----------------------------------------------------------

/** Whether the character just typed at `pos` starts a completion in a `%%dj_table` cell:
 * `<` (codecs), `@` (stores), `->` + space (tables), `:` (types), a space after the class
 * name on the magic line (tiers). */
export function opensCompletion(text: string, pos: number): boolean {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  const before = text.slice(lineStart, pos);
  if (!isDjTableCell(text)) {
    return false;
  }
  if (lineStart === 0) {
    return /^\s*%%dj_table\s+[A-Za-z_]\w*\s$/.test(before);
  }
  if (text.slice(0, lineStart).split('\n').some(l => l.trim() === '# --- python ---')) {
    return false;
  }
  return (
    /^\s*[a-z_]\w*\s*(?:=[^:#]*)?:\s*<$/.test(before) ||
    /^\s*[a-z_]\w*\s*(?:=[^:#]*)?:\s*<\w+@$/.test(before) ||
    /^\s*[a-z_]\w*\s*(?:=[^:#]*)?:\s?$/.test(before) ||
    /^\s*->\s$/.test(before)
  );
}

/** An editor extension that asks for completion when `opensCompletion` says so. */
export function completionTrigger(invoke: () => void): Extension {
  return EditorView.updateListener.of((update: ViewUpdate) => {
    if (!update.docChanged || !update.transactions.some(tr => tr.isUserEvent('input.type'))) {
      return;
    }
    const pos = update.state.selection.main.head;
    if (opensCompletion(update.state.doc.toString(), pos)) {
      setTimeout(invoke, 0);
    }
  });
}
