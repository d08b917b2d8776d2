/**
 * Widget outputs that survive a kernel restart.
 *
 * A saved notebook reopened without its widget models (the kernel restarted and "Save
 * Widget State Automatically" is off) shows "Error displaying widget: model not found" for
 * every widget output, although each dj_jupyter output's mime bundle carries a static
 * picture of the widget (text/html or an image). This renderer for the widget-view mime
 * type shows that picture, with a note, until the live widget view appears; then it hands
 * over to the live view the widget manager renders.
 *
 * The widget manager (@jupyter-widgets/jupyterlab-manager) installs its own factory for
 * the widget-view mime type on each notebook's rendermime once the notebook's kernel is
 * ready (a registry holds one factory per mime type, so that replaces ours). `followPanel`
 * notices the replacement, keeps the manager's factory as the live one and puts ours
 * back in front of it; renderers made before that wait for the live factory.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { RenderedHTML, RenderedImage, RenderedSVG } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

export const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
export const SNAPSHOT_NOTE = 'static snapshot — run the cell to make it live';

/** The static mime types of a bundle, best first, with the renderer that draws each. */
const STATIC_RENDERERS: [string, new (o: IRenderMime.IRendererOptions) => IRenderMime.IRenderer][] = [
  ['text/html', RenderedHTML],
  ['image/svg+xml', RenderedSVG],
  ['image/png', RenderedImage],
  ['image/jpeg', RenderedImage]
];
const POLL_MS = 250;

/** The widget manager's factory for one notebook, once its kernel is ready. */
class LiveFactory {
  private _factory: IRenderMime.IRendererFactory | null = null;
  private _waiting: ((factory: IRenderMime.IRendererFactory) => void)[] = [];

  get current(): IRenderMime.IRendererFactory | null {
    return this._factory;
  }

  set(factory: IRenderMime.IRendererFactory): void {
    this._factory = factory;
    const waiting = this._waiting;
    this._waiting = [];
    waiting.forEach(resolve => resolve(factory));
  }

  /** Resolves with the live factory as soon as there is one. */
  next(): Promise<IRenderMime.IRendererFactory> {
    if (this._factory) {
      return Promise.resolve(this._factory);
    }
    return new Promise(resolve => this._waiting.push(resolve));
  }
}

/** Shows a widget output's static fallback until its live view renders. */
export class FallbackWidgetRenderer extends Panel implements IRenderMime.IRenderer {
  private _snapshot: Panel | null = null;
  private _live: IRenderMime.IRenderer | null = null;
  private _observer: MutationObserver | null = null;

  constructor(
    private readonly _options: IRenderMime.IRendererOptions,
    private readonly _liveFactory: LiveFactory
  ) {
    super();
    this.addClass('dj-widget-output');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const hasSnapshot = await this._showSnapshot(model);
    const factory = await this._liveFactory.next();
    if (this.isDisposed) {
      return;
    }
    this._live?.dispose();
    this._observer?.disconnect();
    const live = factory.createRenderer({ ...this._options, mimeType: WIDGET_MIME });
    this._live = live;
    if (hasSnapshot) {
      live.addClass('dj-widget-pending');
      this._observer = new MutationObserver(() => this._handOverWhenLive());
      this._observer.observe(live.node, { childList: true });
    }
    this.addWidget(live);
    await live.renderModel(model);
    this._handOverWhenLive();
  }

  dispose(): void {
    this._observer?.disconnect();
    super.dispose();
  }

  /** Draws the bundle's static picture with the snapshot note; false if it has none. */
  private async _showSnapshot(model: IRenderMime.IMimeModel): Promise<boolean> {
    if (this._snapshot) {
      return true;
    }
    const found = STATIC_RENDERERS.find(([mime]) => model.data[mime] !== undefined);
    if (!found) {
      return false;
    }
    const [mimeType, Renderer] = found;
    const snapshot = new Panel();
    snapshot.addClass('dj-static-snapshot');
    const note = new Widget();
    note.addClass('dj-static-snapshot-note');
    note.node.textContent = SNAPSHOT_NOTE;
    note.node.title = 'No live widget for this output: its kernel does not hold it any more';
    const picture = new Renderer({ ...this._options, mimeType });
    snapshot.addWidget(note);
    snapshot.addWidget(picture);
    this._snapshot = snapshot;
    this.addWidget(snapshot);
    await picture.renderModel(model);
    return true;
  }

  /** Once the live renderer holds a view (an element, not an error text), show only it. */
  private _handOverWhenLive(): void {
    const live = this._live;
    if (!live || !this._snapshot || live.node.childElementCount === 0) {
      return;
    }
    live.removeClass('dj-widget-pending');
    this._observer?.disconnect();
    this._snapshot.dispose();
    this._snapshot = null;
  }
}

/** Puts our widget-view factory on a notebook's rendermime, and back in front of the
 * widget manager's whenever that one replaces it, for as long as the notebook is open.
 * `placeholder` is the application's factory for the mime type (the manager's stand-in
 * without a kernel, which every notebook's rendermime starts with): never live. */
export function followPanel(panel: NotebookPanel, placeholder: IRenderMime.IRendererFactory | null): void {
  const rendermime = panel.content.rendermime;
  const liveFactory = new LiveFactory();
  const ours: IRenderMime.IRendererFactory = {
    safe: false,
    mimeTypes: [WIDGET_MIME],
    createRenderer: options => new FallbackWidgetRenderer(options, liveFactory)
  };
  const rank = rendermime.getRank(WIDGET_MIME) ?? -10;
  const install = () => {
    if (panel.isDisposed) {
      return;
    }
    const current = rendermime.getFactory(WIDGET_MIME);
    if (current !== ours) {
      if (current && current !== placeholder && current !== liveFactory.current) {
        liveFactory.set(current);
      }
      rendermime.addFactory(ours, rank);
    }
    window.setTimeout(install, POLL_MS);
  };
  install();
}
