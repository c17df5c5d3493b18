/**
 * Minimal stand-ins for the Spectrum widgets UXP builds in (sp-textfield, sp-textarea, sp-button, sp-progressbar, sp-label), so
 * the panel runs in Chromium. Only what the panel uses: a value, clicks, a bar.
 */
export function defineSpectrumShims(win: Window & typeof globalThis): void {
  const { customElements, HTMLElement } = win;

  class TextField extends HTMLElement {
    private input: HTMLInputElement | HTMLTextAreaElement | null = null;
    connectedCallback(): void {
      if (this.input) return;
      this.input = this.ownerDocument.createElement(this.localName === 'sp-textarea' ? 'textarea' : 'input');
      this.input.placeholder = this.getAttribute('placeholder') ?? '';
      this.input.value = this.getAttribute('value') ?? '';
      this.append(this.input);
    }
    get value(): string {
      return this.input?.value ?? this.getAttribute('value') ?? '';
    }
    set value(v: string) {
      if (this.input) this.input.value = v;
      else this.setAttribute('value', v);
    }
  }

  class Button extends HTMLElement {
    connectedCallback(): void {
      this.setAttribute('role', 'button');
      this.tabIndex = 0;
    }
  }

  class ProgressBar extends HTMLElement {
    static get observedAttributes(): string[] {
      return ['value'];
    }
    private fill: HTMLElement | null = null;
    connectedCallback(): void {
      if (!this.fill) {
        this.fill = this.ownerDocument.createElement('div');
        this.fill.className = 'sp-shim-fill';
        this.append(this.fill);
      }
      this.attributeChangedCallback();
    }
    attributeChangedCallback(): void {
      if (this.fill) this.fill.style.width = `${Number(this.getAttribute('value') ?? 0)}%`;
    }
  }

  customElements.define('sp-textfield', TextField);
  customElements.define('sp-textarea', class extends TextField {});
  customElements.define('sp-button', Button);
  customElements.define('sp-progressbar', ProgressBar);
  customElements.define('sp-label', class extends HTMLElement {});

  const style = win.document.createElement('style');
  style.textContent = `
    sp-textfield input, sp-textarea textarea { width: 100%; box-sizing: border-box; background: #1b1b1b; color: #ddd; border: 1px solid #4a4a4a; border-radius: 4px; padding: 4px 6px; font: inherit; }
    sp-button { display: inline-block; padding: 4px 12px; border-radius: 14px; border: 2px solid #8a8a8a; color: #eee; cursor: pointer; font-weight: bold; }
    sp-button[variant="cta"] { background: #1473e6; border-color: #1473e6; }
    sp-button[size="s"] { padding: 1px 8px; font-weight: normal; }
    sp-progressbar { display: block; height: 4px; background: #3a3a3a; border-radius: 2px; overflow: hidden; }
    sp-progressbar .sp-shim-fill { height: 100%; background: #2680eb; }
    sp-label { display: block; color: #a8a8a8; font-size: 11px; }
  `;
  win.document.head.append(style);
}
