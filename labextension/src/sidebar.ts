/**
 * The pipeline sidebar: the current notebook kernel's schemas and tables, from the kernel's
 * comm target `dj_jupyter.pipeline` (dj_jupyter/jupyter/pipeline_comm.py). It never talks to
 * the database; actions insert (and run) notebook cells.
 */
import { NotebookActions, NotebookPanel, INotebookTracker } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

export const TARGET = 'dj_jupyter.pipeline';

export interface TableEntry {
  name: string;
  full_name: string;
  tier: string;
  variable: string | null;
  rows: number;
  parents: string[];
  todo: number | null;
  running: number;
  failed: number;
}

export interface SchemaEntry {
  name: string;
  active: boolean;
  tables: TableEntry[];
}

export interface Snapshot {
  kind: 'snapshot';
  schemas: SchemaEntry[];
  active: string | null;
}

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">' +
  '<g class="jp-icon3" fill="#616161"><rect x="1" y="1" width="6" height="4" rx="1"/>' +
  '<rect x="9" y="11" width="6" height="4" rx="1"/><circle cx="12" cy="4" r="2.5"/>' +
  '<path d="M4 5v4.5h7V11h1V8.5H5V5z"/></g></svg>';

export const pipelineIcon = new LabIcon({ name: 'dj-jupyter:pipeline', svgstr: ICON_SVG });

type State =
  | { kind: 'no-notebook' }
  | { kind: 'connecting' }
  | { kind: 'not-loaded' }
  | { kind: 'error'; message: string }
  | Snapshot;

/** The left-panel widget; follows the current notebook's kernel. */
export class PipelineSidebar extends Widget {
  private comm: Kernel.IComm | null = null;
  private kernel: Kernel.IKernelConnection | null = null;
  private panel: NotebookPanel | null = null;
  private state: State = { kind: 'no-notebook' };

  constructor(tracker: INotebookTracker) {
    super();
    this.id = 'dj-jupyter-sidebar';
    this.addClass('dj-sidebar');
    this.title.icon = pipelineIcon;
    this.title.caption = 'DataJoint pipeline';
    tracker.currentChanged.connect(() => this.follow(tracker.currentWidget), this);
    this.follow(tracker.currentWidget);
  }

  /** The active schema's name, if the kernel reported one. */
  get activeSchema(): string | null {
    return this.state.kind === 'snapshot' ? this.state.active : null;
  }

  private follow(panel: NotebookPanel | null): void {
    if (this.panel === panel) {
      return;
    }
    if (this.panel) {
      this.panel.sessionContext.kernelChanged.disconnect(this.onKernel, this);
      this.panel.sessionContext.statusChanged.disconnect(this.onStatus, this);
    }
    this.panel = panel;
    if (!panel) {
      this.connect(null);
      return;
    }
    panel.sessionContext.kernelChanged.connect(this.onKernel, this);
    panel.sessionContext.statusChanged.connect(this.onStatus, this);
    panel.sessionContext.ready.then(() => {
      if (this.panel === panel) {
        this.connect(panel.sessionContext.session?.kernel ?? null);
      }
    });
    this.connect(panel.sessionContext.session?.kernel ?? null);
  }

  private onKernel(): void {
    this.connect(this.panel?.sessionContext.session?.kernel ?? null);
  }

  /** After a cell ran in a kernel without our comm target, try again (it may have just run
   * `%load_ext dj_jupyter`). */
  private onStatus(_: unknown, status: Kernel.Status): void {
    if (status === 'idle' && this.state.kind === 'not-loaded' && this.kernel) {
      this.openComm(this.kernel);
    } else if (status === 'restarting' || status === 'autorestarting') {
      this.comm = null;
      this.setState({ kind: 'connecting' });
    }
  }

  private connect(kernel: Kernel.IKernelConnection | null): void {
    if (kernel === this.kernel && this.comm) {
      return;
    }
    if (this.comm && !this.comm.isDisposed) {
      try {
        this.comm.close();
      } catch {
        // the kernel is gone
      }
    }
    this.comm = null;
    this.kernel = kernel;
    if (!kernel) {
      this.setState({ kind: this.panel ? 'connecting' : 'no-notebook' });
      return;
    }
    this.openComm(kernel);
  }

  private openComm(kernel: Kernel.IKernelConnection): void {
    if (kernel.isDisposed || (this.comm && !this.comm.isDisposed)) {
      return;
    }
    const comm = kernel.createComm(TARGET);
    this.comm = comm;
    let heard = false;
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
      heard = true;
      const data = msg.content.data as unknown as State;
      this.setState(data);
    };
    comm.onClose = () => {
      if (this.comm === comm) {
        this.comm = null;
        if (!heard) {
          this.setState({ kind: 'not-loaded' });
        }
      }
    };
    if (this.state.kind !== 'not-loaded') {
      this.setState({ kind: 'connecting' });
    }
    comm.open({});
  }

  /** Ask the kernel for a fresh snapshot. */
  refresh(): void {
    if (this.comm && !this.comm.isDisposed) {
      this.comm.send({ request: 'refresh' });
    } else if (this.kernel) {
      this.openComm(this.kernel);
    }
  }

  private setState(state: State): void {
    this.state = state;
    this.render();
  }

  // -- rendering ---------------------------------------------------------------------------
  private render(): void {
    const node = this.node;
    node.replaceChildren();
    const header = element('div', 'dj-sidebar-header');
    header.append(element('span', 'dj-sidebar-title', 'DataJoint pipeline'));
    const refresh = button('⟳', 'Refresh from the kernel', () => this.refresh());
    refresh.classList.add('dj-sidebar-refresh');
    header.append(refresh);
    node.append(header);
    const body = element('div', 'dj-sidebar-body');
    node.append(body);
    const state = this.state;
    node.dataset.state = state.kind;
    switch (state.kind) {
      case 'no-notebook':
        body.append(note('Open a notebook to see the pipeline of its kernel.'));
        return;
      case 'connecting':
        body.append(note('Waiting for the kernel…'));
        return;
      case 'not-loaded':
        body.append(
          note('This kernel has not loaded dj_jupyter. Run '),
          element('code', 'dj-sidebar-code', '%load_ext dj_jupyter'),
          note(' in the notebook; the pipeline shows here then.')
        );
        return;
      case 'error':
        body.append(note(`The kernel could not read the pipeline: ${state.message}`));
        return;
    }
    if (state.schemas.length === 0) {
      body.append(note('No schema yet: run %dj_schema name, then %%dj_table cells.'));
    }
    for (const schema of state.schemas) {
      body.append(this.renderSchema(schema));
    }
  }

  private renderSchema(schema: SchemaEntry): HTMLElement {
    const section = element('section', 'dj-sidebar-schema');
    section.dataset.schema = schema.name;
    const title = element('div', 'dj-sidebar-schema-name', schema.name);
    if (schema.active) {
      title.append(element('span', 'dj-sidebar-active', 'active'));
    }
    section.append(title);
    if (schema.tables.length === 0) {
      section.append(note('no tables yet'));
    }
    const list = element('ul', 'dj-sidebar-tables');
    for (const table of schema.tables) {
      list.append(this.renderTable(table));
    }
    section.append(list);
    return section;
  }

  private renderTable(table: TableEntry): HTMLElement {
    const item = element('li', `dj-sidebar-table dj-tier-${table.tier}`);
    item.dataset.table = table.name;
    item.dataset.fullName = table.full_name;
    item.title = `${table.full_name} (${table.tier})`;
    const name = element('span', 'dj-sidebar-name');
    name.append(element('span', 'dj-sidebar-tier-icon'), table.name);
    name.addEventListener('click', () => this.showTable(table));
    item.append(name);
    const counts = element('span', 'dj-sidebar-counts');
    counts.append(count('rows', table.rows, table.rows === 1 ? 'row' : 'rows', 'in the table'));
    if (table.todo !== null) {
      counts.append(count('todo', table.todo, 'to do', 'keys left to populate'));
    }
    if (table.running) {
      counts.append(count('running', table.running, 'running', 'jobs reserved by a worker'));
    }
    if (table.failed) {
      counts.append(count('failed', table.failed, 'failed', 'jobs that raised an error'));
    }
    item.append(counts);
    const actions = element('span', 'dj-sidebar-actions');
    actions.append(
      button('+', 'Add a %%dj_table cell downstream of this table', () => this.downstream(table))
    );
    if (table.todo !== null) {
      actions.append(button('▶', 'Populate this table', () => this.populate(table)));
      actions.append(button('!', 'Show the errors of its jobs', () => this.errors(table)));
    }
    item.append(actions);
    return item;
  }

  // -- actions (cells in the notebook) -------------------------------------------------------
  private expression(table: TableEntry): string {
    return table.variable ?? `dj.FreeTable(dj.conn(), ${JSON.stringify(table.full_name)})`;
  }

  showTable(table: TableEntry): Promise<void> {
    const shown = table.variable ? `${table.variable}()` : this.expression(table);
    return insertCell(this.panel, shown, true);
  }

  downstream(table: TableEntry): Promise<void> {
    const parent = table.variable ?? table.name;
    const source = `%%dj_table NewTable computed\n-> ${parent}\n---\n`;
    return insertCell(this.panel, source, false);
  }

  populate(table: TableEntry): Promise<void> {
    return insertCell(this.panel, `${this.expression(table)}.populate()`, true);
  }

  errors(table: TableEntry): Promise<void> {
    return insertCell(this.panel, `${this.expression(table)}.jobs.errors`, true);
  }
}

/** Insert a code cell below the active one of `panel`, select it, and maybe run it. */
export async function insertCell(
  panel: NotebookPanel | null,
  source: string,
  run: boolean
): Promise<void> {
  if (!panel) {
    return;
  }
  const notebook = panel.content;
  NotebookActions.insertBelow(notebook);
  const cell = notebook.activeCell;
  if (!cell) {
    return;
  }
  cell.model.sharedModel.setSource(source);
  if (run) {
    await NotebookActions.run(notebook, panel.sessionContext);
  } else {
    notebook.mode = 'edit';
    cell.editor?.focus();
    cell.editor?.setCursorPosition(cell.editor.getPositionAt(source.length)!);
  }
}

function element(tag: string, className: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function note(text: string): HTMLElement {
  return element('span', 'dj-sidebar-note', text);
}

function count(kind: string, value: number, label: string, title: string): HTMLElement {
  const node = element('span', `dj-sidebar-count dj-sidebar-${kind}`, `${value} ${label}`);
  node.title = `${value} ${title}`;
  node.dataset.count = String(value);
  return node;
}

function button(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const node = document.createElement('button');
  node.className = 'dj-sidebar-button';
  node.textContent = label;
  node.title = title;
  node.addEventListener('click', event => {
    event.stopPropagation();
    onClick();
  });
  return node;
}
