/**
 * Adobe's Spectrum Web Components (`@spectrum-web-components/*`) under the tag names of the Spectrum widgets UXP
 * builds in, so the panel runs in Chromium with the real Spectrum look and behaviour. Test harness only: Premiere
 * draws these widgets natively, so the shipped panel bundles none of this.
 *
 * `sp-button` and `sp-textfield` have the same names on both sides. Three UXP widgets are spelled differently on
 * the web and are registered here as thin subclasses of their counterparts:
 * - `sp-textarea` is `sp-textfield multiline`;
 * - `sp-progressbar` is `sp-progress-bar`, which takes `progress` (percent) where UXP takes `value` and `max`;
 * - `sp-label` is `sp-field-label`.
 */
import '@spectrum-web-components/button/sp-button.js';
import { FieldLabel } from '@spectrum-web-components/field-label';
import { ProgressBar } from '@spectrum-web-components/progress-bar';
import '@spectrum-web-components/textfield/sp-textfield.js';
import { Textfield } from '@spectrum-web-components/textfield';
import '@spectrum-web-components/theme/scale-medium.js';
import '@spectrum-web-components/theme/sp-theme.js';
import '@spectrum-web-components/theme/theme-dark.js';

class UxpTextarea extends Textfield {
  constructor() {
    super();
    this.multiline = true;
  }
}

class UxpProgressbar extends ProgressBar {
  static override get observedAttributes(): string[] {
    return [...super.observedAttributes, 'value', 'max'];
  }
  override attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    super.attributeChangedCallback(name, old, value);
    if (name === 'value' || name === 'max') this.progress = (100 * Number(this.getAttribute('value') ?? 0)) / Number(this.getAttribute('max') ?? 100);
  }
}

/** Registers the UXP-named widgets and wraps `app` in Premiere's theme: Spectrum, dark, medium scale. */
export function defineSpectrumElements(app: HTMLElement): void {
  customElements.define('sp-textarea', UxpTextarea);
  customElements.define('sp-progressbar', UxpProgressbar);
  customElements.define('sp-label', class extends FieldLabel {});
  const theme = app.ownerDocument.createElement('sp-theme');
  for (const [name, value] of [['system', 'spectrum'], ['color', 'dark'], ['scale', 'medium']]) theme.setAttribute(name, value!);
  app.parentNode!.insertBefore(theme, app);
  theme.appendChild(app);
}
