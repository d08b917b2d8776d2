/**
 * dj-jupyter-labext: dj_jupyter in JupyterLab 4 and Notebook 7.
 *
 * - `%%dj_table` cells get their own language (grammar.ts), the line a magic's error names
 *   is marked, and completion opens as people type `<`, `@`, `->`, `:` (language.ts);
 * - the pipeline sidebar (sidebar.ts) shows the kernel's schemas and tables;
 * - commands "New DataJoint table cell" and "Show pipeline diagram" in the palette and
 *   the launcher.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import {
  EditorExtensionRegistry,
  IEditorExtensionRegistry,
  IEditorLanguageRegistry
} from '@jupyterlab/codemirror';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { followPanel, WIDGET_MIME } from './fallback';

import {
  completionTrigger,
  djTableLanguage,
  errorLineExtension,
  followDjTableCells,
  markErrorLine,
  MIME
} from './language';
import { insertCell, pipelineIcon, PipelineSidebar } from './sidebar';

const NEW_TABLE_CELL = 'dj-jupyter:new-table-cell';
const SHOW_DIAGRAM = 'dj-jupyter:show-diagram';
const CATEGORY = 'DataJoint';

const TABLE_CELL = '%%dj_table NewTable manual\nid : int32\n---\n';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'dj-jupyter-labext:plugin',
  description: 'The %%dj_table cell language and the DataJoint pipeline sidebar',
  autoStart: true,
  requires: [INotebookTracker, IEditorLanguageRegistry, IEditorExtensionRegistry],
  optional: [ICommandPalette, ILauncher],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    languages: IEditorLanguageRegistry,
    extensions: IEditorExtensionRegistry,
    palette: ICommandPalette | null,
    launcher: ILauncher | null
  ) => {
    languages.addLanguage({
      name: 'dj_table',
      displayName: 'DataJoint table definition',
      mime: MIME,
      support: djTableLanguage()
    });
    extensions.addExtension(errorLineExtension);
    extensions.addExtension({
      name: 'dj-jupyter:completion-trigger',
      factory: () =>
        EditorExtensionRegistry.createImmutableExtension(
          completionTrigger(() => {
            app.commands.execute('completer:invoke-notebook').catch(() => undefined);
          })
        )
    });
    tracker.widgetAdded.connect((_, panel) => followDjTableCells(panel, languages));
    tracker.forEach(panel => followDjTableCells(panel, languages));
    NotebookActions.executed.connect((_, { cell }) => markErrorLine(cell));

    const sidebar = new PipelineSidebar(tracker);
    app.shell.add(sidebar, 'left', { rank: 900 });

    app.commands.addCommand(NEW_TABLE_CELL, {
      label: 'New DataJoint table cell',
      caption: 'Insert a %%dj_table cell below the active cell',
      icon: args => (args.isLauncher ? pipelineIcon : undefined),
      execute: async args => {
        const panel = await notebookFor(app, tracker, Boolean(args.isLauncher));
        await insertCell(panel, TABLE_CELL, false);
      }
    });
    app.commands.addCommand(SHOW_DIAGRAM, {
      label: 'Show pipeline diagram',
      caption: 'Insert and run a cell that draws the active schema',
      icon: args => (args.isLauncher ? pipelineIcon : undefined),
      execute: async args => {
        const panel = await notebookFor(app, tracker, Boolean(args.isLauncher));
        const schema = sidebar.activeSchema;
        const source = schema
          ? `import dj_jupyter as dj\n_dj_schema = %dj_schema ${schema}\ndj.Diagram(_dj_schema)`
          : 'import dj_jupyter as dj\ndj.Diagram(schema)  # schema: your dj.Schema';
        await insertCell(panel, source, true);
      }
    });
    for (const command of [NEW_TABLE_CELL, SHOW_DIAGRAM]) {
      palette?.addItem({ command, category: CATEGORY });
      launcher?.add({ command, category: 'Notebook', rank: 90, args: { isLauncher: true } });
    }
    console.log('dj-jupyter-labext is activated');
  }
};

/** The current notebook, or (from the launcher, or with none open) a new one that loads
 * dj_jupyter in its first cell. */
async function notebookFor(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  fresh: boolean
): Promise<NotebookPanel | null> {
  if (!fresh && tracker.currentWidget) {
    return tracker.currentWidget;
  }
  const panel: NotebookPanel = await app.commands.execute('notebook:create-new', {
    kernelName: 'python3'
  });
  await panel.context.ready;
  panel.content.model?.sharedModel.getCell(0)?.setSource(
    'import dj_jupyter as dj\n%load_ext dj_jupyter\n%dj_schema my_pipeline'
  );
  return panel;
}

/** Widget outputs show their static fallback when their kernel no longer holds them
 * (fallback.ts); apart from the main plugin so that it needs nothing but notebooks. */
const staticFallback: JupyterFrontEndPlugin<void> = {
  id: 'dj-jupyter-labext:static-fallback',
  description: 'Widget outputs without a live model show the static picture saved with them',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, rendermime: IRenderMimeRegistry) => {
    // The application's factory is the widget manager's stand-in without a kernel.
    const follow = (panel: NotebookPanel) =>
      followPanel(panel, rendermime.getFactory(WIDGET_MIME) ?? null);
    tracker.widgetAdded.connect((_, panel) => follow(panel));
    tracker.forEach(follow);
  }
};

export default [plugin, staticFallback];
