/**
 * A streaming XML 1.0 tokenizer for what JUnit reports are: elements, attributes, text, CDATA,
 * comments, processing instructions and a DOCTYPE, without namespaces. It reports the same events,
 * error messages and positions as saxes (the general parser it replaces) and recovers from errors
 * as saxes does, so a broken report reads the same. It is faster because it builds only what its
 * listener asks for: attribute values are sliced when read, text is built only while `wantText` is
 * set, and a position (line:column) is computed only for an error.
 *
 * Whole tokens are parsed at once: one cut by the end of a chunk is parsed again, with the next
 * chunk, from its start. To stay linear in the size of one huge token (a 1 MB test name), it is
 * parsed again only once a chunk brings a character that can end it.
 */

/** A tag's attributes, valid only during the openTag call that receives them. */
export interface Attributes {
  /** The value of `name`, decoded (entities, white space normalised), or undefined. */
  get(name: string): string | undefined;
  /** Every attribute in document order (a later duplicate replaces the earlier value in place). */
  entries(): [string, string][];
}

export interface XmlListener {
  openTag(name: string, attributes: Attributes): void;
  /** Also called right after openTag for `<empty/>`. */
  closeTag(name: string): void;
  /** Character data while `wantText` is set, one call per text node (saxes' granularity). */
  text(text: string): void;
  cdata(text: string): void;
  /** `file:line:column: message` in saxes' wording, and `line:column`. The scanner goes on after it. */
  error(message: string, at: string): void;
}

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUAL = 0x3d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const MINUS = 0x2d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SEMICOLON = 0x3b;

const PREDEFINED = new Map([
  ['amp', '&'],
  ['gt', '>'],
  ['lt', '<'],
  ['quot', '"'],
  ['apos', "'"],
]);

function isS(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

/** XML 1.0 fifth edition NameStartChar, by code point. */
function isNameStartChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    c === 0x3a ||
    c === 0x5f ||
    (c >= 0x80 &&
      (c === 0x200c ||
        c === 0x200d ||
        (c >= 0xc0 && c <= 0xd6) ||
        (c >= 0xd8 && c <= 0xf6) ||
        (c >= 0xf8 && c <= 0x2ff) ||
        (c >= 0x370 && c <= 0x37d) ||
        (c >= 0x37f && c <= 0x1fff) ||
        (c >= 0x2070 && c <= 0x218f) ||
        (c >= 0x2c00 && c <= 0x2fef) ||
        (c >= 0x3001 && c <= 0xd7ff) ||
        (c >= 0xf900 && c <= 0xfdcf) ||
        (c >= 0xfdf0 && c <= 0xfffd) ||
        (c >= 0x10000 && c <= 0xeffff)))
  );
}

function isNameChar(c: number): boolean {
  return (
    isNameStartChar(c) ||
    (c >= 0x30 && c <= 0x39) ||
    c === MINUS ||
    c === 0x2e ||
    c === 0xb7 ||
    (c >= 0x300 && c <= 0x36f) ||
    (c >= 0x203f && c <= 0x2040)
  );
}

/** Per ASCII character: 1 when it may start a name, 2 when it may only continue one, 0 otherwise. */
const ASCII_NAME = new Uint8Array(128).map((_, c) => (isNameStartChar(c) ? 1 : isNameChar(c) ? 2 : 0));

/** Whether `c` ends a name: an ASCII character that is no name character (others are looked up). */
function isNameEnd(c: number): boolean {
  return c < 0x80 && ASCII_NAME[c] === 0;
}

/** The end of the name characters from `i` (n when they run to the end of the text). */
function nameEnd(buf: string, i: number, n: number): number {
  while (i < n) {
    const c = buf.charCodeAt(i);
    if (c < 0x80) {
      if (ASCII_NAME[c] === 0) return i;
      i++;
    } else if (isNameChar(codeAt(buf, i))) {
      i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
    } else {
      return i;
    }
  }
  return n;
}

const NAME = /^[:A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{EFFFF}][-.0-9:A-Z_a-z\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF\u200C\u200D\u203F\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{EFFFF}]*$/u;

function isXmlChar(c: number): boolean {
  return (c >= 0x20 && c <= 0xd7ff) || c === LF || c === CR || c === TAB || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/** The code point at `i` (a surrogate pair read as one). */
function codeAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? s.codePointAt(i)! : c;
}

/**
 * Makes V8 store a joined string as one piece: read character by character, a string made by `+`
 * (a carried-over token and a new chunk) costs a lookup through its parts for every character.
 * Converting it to a number flattens it in place.
 */
function flatten(text: string): void {
  void Number(text);
}

/** Whether `text` is at `from` in `buf` (a loop: cheaper than startsWith for a short name). */
function sameAt(buf: string, from: number, text: string): boolean {
  for (let k = text.length - 1; k >= 0; k--) if (buf.charCodeAt(from + k) !== text.charCodeAt(k)) return false;
  return true;
}

/**
 * Whether the name `guess` is at `i`, with a character after it (the caller checks that one ends
 * it). Tags repeat: the name expected there (the open element for a closing tag, the name the last
 * tag had at this place) is compared once, instead of finding the name's end and then looking it up.
 */
function guessedAt(buf: string, i: number, n: number, guess: string | undefined): guess is string {
  return guess !== undefined && i + guess.length < n && sameAt(buf, i, guess);
}

/** `\r\n` and `\r` as `\n`, as XML requires of text. */
function normalizeNewlines(text: string): string {
  return text.indexOf('\r') < 0 ? text : text.replace(/\r\n?/g, '\n');
}

/** Tab, CR, LF (and CRLF as one) as a space, as XML requires of attribute values. */
function normalizeAttribute(text: string): string {
  return text.replace(/\r\n|[\t\n\r]/g, ' ');
}

/** Names remembered by XmlScanner.nameAt: a JUnit report uses about a dozen. */
const MAX_KNOWN_NAMES = 32;

const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/;
const SURROGATE_PAIRS = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/**
 * Characters whose next position in a chunk the scanner keeps (see XmlScanner.nextFrom): `&` ends a
 * text run, and any of them makes a quoted attribute value more than a slice.
 */
const AMP_AT = 0;
const LT_AT = 1;
const TAB_AT = 2;
const LF_AT = 3;
const CR_AT = 4;
const TRACKED = ['&', '<', '\t', '\n', '\r'];

/** Why a token could not be finished in the text at hand: more is needed. */
const INCOMPLETE = -1;

class AttributeList implements Attributes {
  /** Names and either a decoded value or the bounds of a raw one in `source` (see `raw`). */
  names: string[] = [];
  values: (string | null)[] = [];
  starts: number[] = [];
  ends: number[] = [];
  /** The value holds a tab, CR or LF to turn into a space. */
  spaces: boolean[] = [];
  count = 0;
  source = '';

  reset(source: string): void {
    this.count = 0;
    this.source = source;
  }

  add(name: string, value: string | null, start: number, end: number, spaces: boolean): void {
    const n = this.count++;
    this.names[n] = name;
    this.values[n] = value;
    this.starts[n] = start;
    this.ends[n] = end;
    this.spaces[n] = spaces;
  }

  indexOf(name: string): number {
    for (let i = 0; i < this.count; i++) if (this.names[i] === name) return i;
    return -1;
  }

  valueAt(i: number): string {
    const value = this.values[i];
    if (value !== null) return value;
    const raw = this.source.slice(this.starts[i], this.ends[i]);
    return this.spaces[i] ? normalizeAttribute(raw) : raw;
  }

  get(name: string): string | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.valueAt(i);
  }

  entries(): [string, string][] {
    const out: [string, string][] = [];
    for (let i = 0; i < this.count; i++) out.push([this.names[i], this.valueAt(i)]);
    return out;
  }
}

/** What a token found, replayed once it is known to be complete (see XmlScanner.pending). */
type Deferred = { kind: 'error'; at: number; message: string } | { kind: 'open'; name: string; selfClosing: boolean } | { kind: 'close'; name: string; at: number };

export class XmlScanner {
  /** Build text for the listener; off, text is only checked (entities, `]]>`), never built. */
  wantText = false;

  /** The unparsed text: a cut-off token at its start, then what was written since. */
  private buf = '';
  /** A trailing CR or high surrogate, held back until the next chunk tells what it is. */
  private held = '';
  /** The cut-off token in `buf` may end only once this character arrives (-1: anything may end it). */
  private awaiting = -1;
  /** Line and column of `buf`'s first character, and of `cursor` in it (positions are counted lazily). */
  private line = 1;
  private column = 0;
  private cursor = 0;
  private cursorLine = 1;
  private cursorColumn = 0;

  /** saxes' `text`: text read but not yet handed to the listener. */
  private text = '';
  /** `]` characters ending the text read so far (a `]]>` may span two chunks). */
  private brackets = 0;
  private readonly tags: string[] = [];
  private sawRoot = false;
  private closedRoot = false;
  private sawDoctype = false;
  private xmlDeclPossible = true;
  private reportedTextBeforeRoot = false;
  private reportedTextAfterRoot = false;
  /** After `<!` and seven characters that begin no known construct, saxes never leaves that state. */
  private lost = false;
  private closed = false;
  /** The input ended inside a token. */
  private midToken = false;
  private started = false;
  /** The value of an attribute cut off by the end of the input: saxes hands it out as text. */
  private partial = '';
  /** The last attribute() read a value (else it stopped at a name without one). */
  private valueRead = false;
  /** Characters read after `<!` that began no known construct (see `lost`). */
  private lostRead = 0;
  /** Per chunk: the next of each TRACKED character, and of `]]>` (see textRun). */
  private readonly next = new Int32Array(TRACKED.length);
  private nextCdataEnd = -1;

  private readonly attributes = new AttributeList();
  private readonly names: string[] = [];
  /** The last start tag's name, and its attributes' names by place (see guessedAt). */
  private lastOpened: string | undefined = undefined;
  private readonly attributeNames: string[] = [];
  private readonly deferred: Deferred[] = [];

  constructor(
    private readonly file: string,
    private readonly listener: XmlListener,
  ) {}

  write(chunk: string): void {
    if (this.closed) throw new Error('write after close');
    let text = this.held + chunk;
    this.held = '';
    const last = text.charCodeAt(text.length - 1);
    if (last === CR || (last >= 0xd800 && last <= 0xdbff)) {
      this.held = text.slice(-1);
      text = text.slice(0, -1);
    }
    this.buf += text;
    if (this.awaiting >= 0 && text.indexOf(String.fromCharCode(this.awaiting)) < 0) return;
    flatten(this.buf);
    this.scan(false);
  }

  close(): void {
    if (this.closed) return;
    this.buf += this.held;
    this.held = '';
    flatten(this.buf);
    this.scan(true);
    this.closed = true;
    const end = this.buf.length;
    if (!this.sawRoot) this.fail(end, 'document must contain a root element.');
    while (this.tags.length > 0) this.fail(end, `unclosed tag: ${this.tags.pop()}`);
    if (this.midToken || this.lost) this.fail(end, 'unexpected end.');
    if (this.text.length !== 0) {
      if (this.wantText) this.listener.text(this.text);
      this.text = '';
    }
  }

  /** Parses what `buf` holds; at the end of the input (`final`), also a token it cuts off. */
  private scan(final: boolean): void {
    const buf = this.buf;
    const n = buf.length;
    this.next.fill(-1);
    this.nextCdataEnd = -1;
    this.awaiting = -1;
    let i = 0;
    if (this.started === false && n > 0) {
      this.started = true;
      // A byte order mark that decoding left in: not text.
      if (buf.charCodeAt(0) === 0xfeff) i = 1;
    }
    if (this.lost) i = this.lose(0, n);
    while (i < n) {
      if (buf.charCodeAt(i) !== LT) {
        i = this.textRun(buf, i, n, final);
        if (this.awaiting >= 0) break;
        continue;
      }
      this.flushText();
      const end = this.markup(buf, i, n, final);
      if (end === INCOMPLETE) {
        this.awaiting = GT;
        break;
      }
      i = this.lost ? this.lose(end, n) : end;
    }
    if (final && i < n) {
      this.midToken = true;
      this.incompleteAtEnd(buf, i, n);
      i = n;
    }
    if (i > 0) this.consume(i);
  }

  /** Drops `buf` up to `to`, keeping its line and column. */
  private consume(to: number): void {
    this.moveCursor(to);
    this.line = this.cursorLine;
    this.column = this.cursorColumn;
    this.cursor = 0;
    this.buf = this.buf.slice(to);
  }

  /**
   * The next TRACKED[k] at or after `i` (n: none), searched once per chunk and not once per token:
   * the positions only move forward, so a chunk is read once for each character whatever it holds.
   */
  private nextFrom(k: number, buf: string, i: number, n: number): number {
    const next = this.next;
    if (next[k] < i) {
      const at = buf.indexOf(TRACKED[k], i);
      next[k] = at < 0 ? n : at;
    }
    return next[k];
  }

  /**
   * Text from `i` (not a `<`) up to the next `<` or entity: checks it, and builds it when wanted.
   * Returns where it stopped; sets `awaiting` when an entity is cut off.
   */
  private textRun(buf: string, i: number, n: number, final: boolean): number {
    let lt = buf.indexOf('<', i);
    if (lt < 0) lt = n;
    const amp = this.nextFrom(AMP_AT, buf, i, n);
    const end = amp < lt ? amp : lt;
    if (end > i || this.brackets > 0) this.checkText(buf, i, end, n);
    if (this.wantText && end > i) this.text += normalizeNewlines(buf.slice(i, end));
    if (end !== amp || amp === n) {
      if (this.tags.length === 0 && end > i && this.hasNonSpace(buf, i, end)) {
        // saxes hands out the text before it reports it.
        if (end < n) this.flushText();
        this.textOutsideRoot(end < n ? end + 1 : end);
      }
      return end;
    }
    if (this.tags.length === 0) this.textOutsideRoot(amp + 1);
    this.brackets = 0;
    const semi = buf.indexOf(';', amp + 1);
    if (semi < 0) {
      // saxes reads an entity up to its `;`, wherever that is.
      if (!final) this.awaiting = SEMICOLON;
      return amp;
    }
    const value = this.entity(buf, amp + 1, semi);
    if (this.wantText) this.text += value;
    return semi + 1;
  }

  /** `]]>` may not appear in text; saxes reports it where the `>` is. */
  private checkText(buf: string, i: number, end: number, n: number): void {
    let from = i;
    if (this.brackets > 0) {
      // `]`s that ended the last piece of text: with more `]`s and a `>` here they make a `]]>`.
      let k = i;
      let b = this.brackets;
      while (k < end && buf.charCodeAt(k) === RBRACKET) {
        b++;
        k++;
      }
      if (k < end && buf.charCodeAt(k) === GT && b >= 2) this.fail(k + 1, 'the string "]]>" is disallowed in char data.');
      from = k;
    }
    for (;;) {
      if (this.nextCdataEnd < from) {
        const at = buf.indexOf(']]>', from);
        this.nextCdataEnd = at < 0 ? n : at;
      }
      if (this.nextCdataEnd + 2 >= end) break;
      this.fail(this.nextCdataEnd + 3, 'the string "]]>" is disallowed in char data.');
      from = this.nextCdataEnd + 3;
    }
    let b = 0;
    for (let k = end - 1; k >= i && buf.charCodeAt(k) === RBRACKET; k--) b++;
    this.brackets = end === n ? (b === end - i ? this.brackets + b : b) : 0;
  }

  private hasNonSpace(buf: string, i: number, end: number): boolean {
    for (let k = i; k < end; k++) if (!isS(buf.charCodeAt(k))) return true;
    return false;
  }

  /** Hands the text read so far to the listener, when it wants text. */
  private flushText(): void {
    if (this.text.length !== 0 && this.wantText) {
      const text = this.text;
      this.text = '';
      this.listener.text(text);
    }
  }

  private textOutsideRoot(at: number): void {
    if (!this.sawRoot && !this.reportedTextBeforeRoot) {
      this.fail(at, 'text data outside of root node.');
      this.reportedTextBeforeRoot = true;
    }
    if (this.closedRoot && !this.reportedTextAfterRoot) {
      this.fail(at, 'text data outside of root node.');
      this.reportedTextAfterRoot = true;
    }
  }

  /** The entity between `&` and `;` (buf[from..semi)), resolved; its errors are reported at the `;`. */
  private entity(buf: string, from: number, semi: number, defer = false): string {
    const name = normalizeNewlines(buf.slice(from, semi));
    const report = (message: string) => (defer ? this.deferred.push({ kind: 'error', at: semi + 1, message }) : this.fail(semi + 1, message));
    if (name === '') {
      report('empty entity name.');
      return '&;';
    }
    if (name.charCodeAt(0) !== 0x23) {
      const defined = PREDEFINED.get(name);
      if (defined !== undefined) return defined;
      report(NAME.test(name) ? 'undefined entity.' : 'disallowed character in entity name.');
      return `&${name};`;
    }
    let code = NaN;
    if (name.charCodeAt(1) === 0x78 && /^#x[0-9a-f]+$/i.test(name)) code = parseInt(name.slice(2), 16);
    else if (/^#[0-9]+$/.test(name)) code = parseInt(name.slice(1), 10);
    if (!isXmlChar(code)) {
      report('malformed character entity.');
      return `&${name};`;
    }
    return String.fromCodePoint(code);
  }

  /** The markup starting with the `<` at `lt`: returns where it ends, or INCOMPLETE. */
  private markup(buf: string, lt: number, n: number, final: boolean): number {
    if (lt + 1 >= n) return INCOMPLETE;
    const c = codeAt(buf, lt + 1);
    if (isNameStartChar(c)) {
      this.xmlDeclPossible = false;
      return this.openTag(buf, lt, n, final);
    }
    if (c === SLASH) {
      this.xmlDeclPossible = false;
      return this.closeTag(buf, lt, n);
    }
    if (c === BANG) {
      this.xmlDeclPossible = false;
      return this.bang(buf, lt, n);
    }
    if (c === QUESTION) return this.processingInstruction(buf, lt);
    // saxes drops the `<` and the character after it, and goes on with text.
    this.fail(lt + 2, 'disallowed character in tag name');
    this.xmlDeclPossible = false;
    return lt + 1 + (c > 0xffff ? 2 : 1);
  }

  /** Replays what a complete token found. */
  private flush(): void {
    const deferred = this.deferred;
    for (let k = 0; k < deferred.length; k++) {
      const d = deferred[k];
      if (d.kind === 'error') this.fail(d.at, d.message);
      else if (d.kind === 'open') this.emitOpen(d.name, d.selfClosing);
      else this.emitClose(d.name, d.at);
    }
    deferred.length = 0;
  }

  /**
   * buf[from..to) as a string: the same few element and attribute names recur thousands of times,
   * and a kept one costs no allocation.
   */
  private nameAt(buf: string, from: number, to: number): string {
    const names = this.names;
    const length = to - from;
    for (let k = 0; k < names.length; k++) {
      const known = names[k];
      if (known.length === length && sameAt(buf, from, known)) return known;
    }
    // As a property key, the string is stored once in V8's table of such keys: the reader's own
    // literal names are the same string there, so comparing with them is one pointer comparison.
    const name = Object.keys({ [buf.slice(from, to)]: 0 })[0];
    if (names.length < MAX_KNOWN_NAMES) names.push(name);
    return name;
  }

  private deferError(at: number, message: string): void {
    this.deferred.push({ kind: 'error', at, message });
  }

  /** `<name attr="value" ...>` or `/>`. */
  private openTag(buf: string, lt: number, n: number, final: boolean): number {
    const attrs = this.attributes;
    attrs.reset(buf);
    if (this.deferred.length !== 0) this.deferred.length = 0;
    this.partial = '';
    const guess = this.lastOpened;
    let i = lt + 1;
    let name: string;
    if (guessedAt(buf, i, n, guess) && isNameEnd(buf.charCodeAt(i + guess.length))) {
      name = guess;
      i += guess.length;
    } else {
      i = nameEnd(buf, i, n);
      if (i >= n) return this.cutOff(final, n);
      name = this.lastOpened = this.nameAt(buf, lt + 1, i);
    }
    this.sawRoot = true;
    if (this.closedRoot) this.deferError(i + 1, 'documents may contain only one root.');
    let c = buf.charCodeAt(i);
    if (c === GT) return this.openTagEnd(name, false, i + 1);
    let state: 'attrib' | 'slash' = 'attrib';
    if (c === SLASH) state = 'slash';
    else if (!isS(c)) this.deferError(i + 1, 'disallowed character in tag name.');
    i++;
    // saxes' attribute states, one character at a time; a well-formed tag takes the first branches.
    for (;;) {
      if (i >= n) return this.cutOff(final, n);
      c = buf.charCodeAt(i);
      if (state === 'slash') {
        if (c === GT) return this.openTagEnd(name, true, i + 1);
        this.deferError(i + 1, 'forward-slash in opening tag not followed by >.');
        state = 'attrib';
        i++;
        continue;
      }
      if (isS(c)) {
        i++;
        continue;
      }
      if (c === GT) return this.openTagEnd(name, false, i + 1);
      if (c === SLASH) {
        state = 'slash';
        i++;
        continue;
      }
      if (!isNameStartChar(codeAt(buf, i))) {
        this.deferError(i + 1, 'disallowed character in attribute name.');
        i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
        continue;
      }
      const next = this.attribute(buf, i, n);
      if (next === INCOMPLETE) return this.cutOff(final, n);
      if (next < 0) return this.openTagEnd(name, false, -next);
      i = next;
      if (!this.valueRead) continue;
      // After a value: white space, `>`, `/>`, or an error.
      for (;;) {
        if (i >= n) return this.cutOff(final, n);
        c = buf.charCodeAt(i);
        if (isS(c) || c === GT || c === SLASH) break;
        if (isNameStartChar(codeAt(buf, i))) {
          this.deferError(i + 1, 'no whitespace between attributes.');
          break;
        }
        this.deferError(i + 1, 'disallowed character in attribute name.');
        i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
      }
    }
  }

  /**
   * One attribute from its name at `i`: returns the index after its value, -(index after `>`)
   * when the tag ended instead (an attribute without value), or INCOMPLETE.
   */
  private attribute(buf: string, i: number, n: number): number {
    this.valueRead = false;
    let name = '';
    let start = i;
    let c: number;
    const place = this.attributes.count;
    const guess = this.attributeNames[place];
    if (guessedAt(buf, i, n, guess) && buf.charCodeAt(i + guess.length) === EQUAL) {
      name = guess;
      i += guess.length;
      c = EQUAL;
    } else {
      // The name; a disallowed character is reported and left out of it.
      for (;;) {
        i = nameEnd(buf, i, n);
        if (i >= n) return INCOMPLETE;
        name = name === '' ? this.nameAt(buf, start, i) : name + buf.slice(start, i);
        c = buf.charCodeAt(i);
        if (c === EQUAL || isS(c) || c === GT) break;
        this.deferError(i + 1, 'disallowed character in attribute name.');
        i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
        start = i;
      }
      this.attributeNames[place] = name;
    }
    if (c === GT) {
      this.deferError(i + 1, 'attribute without value.');
      this.attributes.add(name, name, 0, 0, false);
      return -(i + 1);
    }
    if (c !== EQUAL) {
      while (i < n && isS(buf.charCodeAt(i))) i++;
      if (i >= n) return INCOMPLETE;
      c = buf.charCodeAt(i);
      if (c !== EQUAL) {
        // saxes drops the name and reads on.
        this.deferError(i + 1, 'attribute without value.');
        if (c === GT) return -(i + 1);
        if (isNameStartChar(codeAt(buf, i))) return i;
        this.deferError(i + 1, 'disallowed character in attribute name.');
        return i + 1;
      }
    }
    i++;
    while (i < n && isS(buf.charCodeAt(i))) i++;
    if (i >= n) return INCOMPLETE;
    const q = buf.charCodeAt(i);
    if (q !== DQUOTE && q !== SQUOTE) return this.unquotedValue(buf, name, i, n);
    i++;
    start = i;
    // Nearly every value is plain: its end is found by indexOf and it is sliced when read.
    const close = buf.indexOf(q === DQUOTE ? '"' : "'", i);
    if (close >= 0 && this.nextFrom(AMP_AT, buf, i, n) > close && this.nextFrom(LT_AT, buf, i, n) > close) {
      const spaced = this.nextFrom(TAB_AT, buf, i, n) < close || this.nextFrom(LF_AT, buf, i, n) < close || this.nextFrom(CR_AT, buf, i, n) < close;
      this.attributes.add(name, null, start, close, spaced);
      this.valueRead = true;
      return close + 1;
    }
    let spaces = false;
    let decoded: string | null = null;
    for (;;) {
      if (i >= n) {
        this.partial = (decoded ?? '') + normalizeAttribute(buf.slice(start, n));
        return INCOMPLETE;
      }
      const k = buf.charCodeAt(i);
      // Past `'` only `<` needs a look; below it are both quotes, `&` and white space.
      if (k > SQUOTE && k !== LT) {
        i++;
        continue;
      }
      if (k === q) break;
      if (k === AMP || k === LT) {
        decoded ??= '';
        decoded += normalizeAttribute(buf.slice(start, i));
        if (k === LT) {
          this.deferError(i + 1, 'disallowed character.');
          start = ++i;
          continue;
        }
        const semi = buf.indexOf(';', i + 1);
        if (semi < 0) {
          this.partial = decoded;
          return INCOMPLETE;
        }
        decoded += this.entity(buf, i + 1, semi, true);
        start = i = semi + 1;
        continue;
      }
      if (k === TAB || k === LF || k === CR) spaces = true;
      i++;
    }
    if (decoded !== null) this.attributes.add(name, decoded + normalizeAttribute(buf.slice(start, i)), 0, 0, false);
    else this.attributes.add(name, null, start, i, spaces);
    this.valueRead = true;
    return i + 1;
  }

  /** saxes reads an unquoted value up to white space or `>`, after an error. */
  private unquotedValue(buf: string, name: string, i: number, n: number): number {
    this.deferError(i + 1, 'unquoted attribute value.');
    let value = '';
    let start = i;
    for (;;) {
      if (i >= n) {
        this.partial = value + buf.slice(start, n);
        return INCOMPLETE;
      }
      const k = buf.charCodeAt(i);
      if (isS(k) || k === GT) break;
      if (k === AMP) {
        value += buf.slice(start, i);
        const semi = buf.indexOf(';', i + 1);
        if (semi < 0) {
          this.partial = value;
          return INCOMPLETE;
        }
        value += this.entity(buf, i + 1, semi, true);
        start = i = semi + 1;
        continue;
      }
      if (k === LT) {
        value += buf.slice(start, i);
        this.deferError(i + 1, 'disallowed character.');
        start = ++i;
        continue;
      }
      i++;
    }
    value += buf.slice(start, i);
    if (value.includes(']]>')) this.deferError(i + 1, 'the string "]]>" is disallowed in char data.');
    this.attributes.add(name, value, 0, 0, false);
    return buf.charCodeAt(i) === GT ? -(i + 1) : i + 1;
  }

  /** A complete start tag: duplicate attributes are reported, then the events replayed. */
  private openTagEnd(name: string, selfClosing: boolean, end: number): number {
    const attrs = this.attributes;
    // A later duplicate replaces the earlier value, as in saxes.
    for (let i = 1; i < attrs.count; i++) {
      const first = attrs.indexOf(attrs.names[i]);
      if (first < i) {
        this.deferError(end, `duplicate attribute: ${attrs.names[i]}.`);
        attrs.values[first] = attrs.valueAt(i);
        attrs.names.splice(i, 1);
        attrs.values.splice(i, 1);
        attrs.starts.splice(i, 1);
        attrs.ends.splice(i, 1);
        attrs.spaces.splice(i, 1);
        attrs.count--;
        i--;
      }
    }
    if (this.deferred.length === 0) this.emitOpen(name, selfClosing);
    else {
      this.deferred.push({ kind: 'open', name, selfClosing });
      this.flush();
    }
    return end;
  }

  private emitOpen(name: string, selfClosing: boolean): void {
    this.listener.openTag(name, this.attributes);
    if (selfClosing) {
      this.listener.closeTag(name);
      if (this.tags.length === 0) this.closedRoot = true;
    } else {
      this.tags.push(name);
    }
  }

  /** A token cut off by the end of the input so far. */
  private cutOff(final: boolean, n: number): number {
    if (final) {
      // saxes has reported what it found before the end, and keeps the value it was reading as text.
      this.midToken = true;
      this.text += this.partial;
      this.flush();
      return n;
    }
    this.deferred.length = 0;
    return INCOMPLETE;
  }

  /** `</name>`. */
  private closeTag(buf: string, lt: number, n: number): number {
    this.deferred.length = 0;
    let i = lt + 2;
    const open = this.tags[this.tags.length - 1];
    if (guessedAt(buf, i, n, open) && buf.charCodeAt(i + open.length) === GT) {
      i += open.length;
      this.emitClose(open, i + 1);
      return i + 1;
    }
    let name = '';
    let start = i;
    for (;;) {
      i = nameEnd(buf, i, n);
      if (i >= n) return INCOMPLETE;
      name = name === '' ? this.nameAt(buf, start, i) : name + buf.slice(start, i);
      const c = buf.charCodeAt(i);
      if (c === GT) break;
      if (isS(c)) {
        while (i < n && isS(buf.charCodeAt(i))) i++;
        if (i >= n) return INCOMPLETE;
        let k = buf.charCodeAt(i);
        while (k !== GT) {
          this.deferError(i + 1, 'disallowed character in closing tag.');
          i += k >= 0xd800 && k <= 0xdbff ? 2 : 1;
          while (i < n && isS(buf.charCodeAt(i))) i++;
          if (i >= n) return INCOMPLETE;
          k = buf.charCodeAt(i);
        }
        break;
      }
      this.deferError(i + 1, 'disallowed character in closing tag.');
      i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
      start = i;
    }
    this.deferred.push({ kind: 'close', name, at: i + 1 });
    this.flush();
    return i + 1;
  }

  /** saxes' closeTag: pops up to the matching element, reporting each one it closes on the way. */
  private emitClose(name: string, at: number): void {
    if (name === '') {
      this.fail(at, 'weird empty close tag.');
      this.text += '</>';
      return;
    }
    const tags = this.tags;
    let l = tags.length;
    while (l-- > 0) {
      const tag = tags.pop()!;
      this.listener.closeTag(tag);
      if (tag === name) break;
      this.fail(at, 'unexpected close tag.');
    }
    if (l === 0) this.closedRoot = true;
    else if (l < 0) {
      this.fail(at, `unmatched closing tag: ${name}.`);
      this.text += `</${name}>`;
    }
  }

  /** `<!--`, `<![CDATA[` or `<!DOCTYPE`. */
  private bang(buf: string, lt: number, n: number): number {
    const from = lt + 2;
    if (buf.startsWith('--', from)) return this.comment(buf, from + 2, n);
    if (buf.startsWith('[CDATA[', from)) {
      const end = buf.indexOf(']]>', from + 7);
      if (end < 0) return INCOMPLETE;
      this.textOutsideRoot(from + 7);
      const cdata = this.text + normalizeNewlines(buf.slice(from + 7, end));
      this.text = '';
      this.listener.cdata(cdata);
      return end + 3;
    }
    if (buf.startsWith('DOCTYPE', from)) {
      const end = this.doctypeEnd(buf, from + 7, n);
      if (end === INCOMPLETE) return INCOMPLETE;
      if (this.sawDoctype || this.sawRoot) this.fail(from + 7, 'inappropriately located doctype declaration.');
      this.sawDoctype = true;
      this.text = '';
      return end;
    }
    // A prefix of one of them, cut off by the end of the chunk.
    const seen = buf.slice(from, Math.min(n, from + 7));
    if (seen.length < 7 && (('--'.startsWith(seen) && seen.length < 2) || '[CDATA['.startsWith(seen) || 'DOCTYPE'.startsWith(seen))) return INCOMPLETE;
    // saxes reads on, character by character, for a construct that never comes.
    this.lost = true;
    return from;
  }

  /** From `i` on, an error at every character from the seventh after `<!` (saxes never leaves that state). */
  private lose(i: number, n: number): number {
    for (; i < n; i++) if (++this.lostRead >= 7) this.fail(i + 1, 'incorrect syntax.');
    return n;
  }

  /** The comment's text is dropped; `--` inside it is an error. */
  private comment(buf: string, from: number, n: number): number {
    let at = buf.indexOf('--', from);
    const errors: number[] = [];
    while (at >= 0 && at + 2 < n && buf.charCodeAt(at + 2) !== GT) {
      errors.push(at + 3);
      at = buf.indexOf('--', at + 3);
    }
    if (at < 0 || at + 2 >= n) return INCOMPLETE;
    for (const k of errors) this.fail(k, 'malformed comment.');
    this.text = '';
    return at + 3;
  }

  /** The end of a DOCTYPE (after its `>`), skipping quoted strings and an internal subset. */
  private doctypeEnd(buf: string, i: number, n: number): number {
    let subset = false;
    while (i < n) {
      const c = buf.charCodeAt(i);
      if (c === DQUOTE || c === SQUOTE) {
        const close = buf.indexOf(String.fromCharCode(c), i + 1);
        if (close < 0) return INCOMPLETE;
        i = close + 1;
      } else if (!subset && c === GT) {
        return i + 1;
      } else if (!subset && c === LBRACKET) {
        subset = true;
        i++;
      } else if (subset && c === RBRACKET) {
        subset = false;
        i++;
      } else if (subset && c === LT && buf.startsWith('<!--', i)) {
        const end = buf.indexOf('-->', i + 4);
        if (end < 0) return INCOMPLETE;
        i = end + 3;
      } else if (subset && c === LT && buf.startsWith('<?', i)) {
        const end = buf.indexOf('?>', i + 2);
        if (end < 0) return INCOMPLETE;
        i = end + 2;
      } else {
        i++;
      }
    }
    return INCOMPLETE;
  }

  /** `<?target body?>`, and the XML declaration. */
  private processingInstruction(buf: string, lt: number): number {
    const end = buf.indexOf('?>', lt + 2);
    if (end < 0) return INCOMPLETE;
    let i = lt + 2;
    const first = codeAt(buf, i);
    if (i === end || isS(first)) {
      this.fail(i + 1, 'processing instruction without a target.');
    } else {
      if (!isNameStartChar(first)) this.fail(i + 1, 'disallowed character in processing instruction name.');
      i += first > 0xffff ? 2 : 1;
      while (i < end && !isS(buf.charCodeAt(i)) && buf.charCodeAt(i) !== QUESTION) {
        if (!isNameChar(codeAt(buf, i))) this.fail(i + 1, 'disallowed character in processing instruction name.');
        i += codeAt(buf, i) > 0xffff ? 2 : 1;
      }
    }
    const target = buf.slice(lt + 2, i);
    if (target === 'xml') {
      if (!this.xmlDeclPossible) this.fail(i + 1, 'an XML declaration must be at the start of the document.');
      this.xmlDeclaration(buf, i, end);
    } else if (target.toLowerCase() === 'xml') {
      this.fail(end + 2, 'the XML declaration must appear at the start of the document.');
    }
    this.xmlDeclPossible = false;
    this.text = '';
    return end + 2;
  }

  /** The pseudo-attributes of `<?xml ...?>`, checked as saxes checks them. */
  private xmlDeclaration(buf: string, from: number, end: number): void {
    const body = buf.slice(from, end);
    const pairs = [...body.matchAll(/\s*([^\s=]+)\s*=\s*(["'])(.*?)\2/gs)];
    const names = pairs.map((p) => p[1]);
    const expected = ['version', 'encoding', 'standalone'];
    let last = -1;
    for (const [whole, name, , value] of pairs) {
      const at = from + body.indexOf(whole) + whole.length;
      const index = expected.indexOf(name);
      if (index <= last) this.fail(at, `expected one of ${expected.slice(last + 1).join(', ')}`);
      last = Math.max(last, index);
      if (name === 'version' && !/^1\.[0-9]+$/.test(value)) this.fail(at, 'version number must match /^1\\.[0-9]+$/.');
      if (name === 'encoding' && !/^[A-Za-z][A-Za-z0-9._-]*$/.test(value)) this.fail(at, 'encoding value must match /^[A-Za-z0-9][A-Za-z0-9._-]*$/.');
      if (name === 'standalone' && value !== 'yes' && value !== 'no') this.fail(at, 'standalone value must match "yes" or "no".');
    }
    if (!names.includes('version')) this.fail(end + 2, 'XML declaration must contain a version.');
  }

  /** At the end of the input, a token that never finished: saxes has read it all, and keeps its text. */
  private incompleteAtEnd(buf: string, i: number, n: number): void {
    const rest = buf.slice(i, n);
    if (rest.startsWith('<![CDATA[')) {
      this.textOutsideRoot(i + 9);
      // A `]` is only kept once saxes knows it ends no `]]>`.
      this.text += normalizeNewlines(rest.slice(9)).replace(/\]{1,2}$/, '');
    } else if (rest.startsWith('<!--')) {
      let from = i + 4;
      for (let at = buf.indexOf('--', from); at >= 0 && at + 2 < n; at = buf.indexOf('--', at + 3)) {
        this.fail(at + 3, 'malformed comment.');
        from = at;
      }
      // The text since the last `--` (saxes hands a comment's text on at each one), and the `-` it
      // has not decided on yet left out.
      this.text = buf.endsWith('--') && n - 2 > from ? '' : normalizeNewlines(buf.slice(from, n)).replace(/(^|[^-])-$/, '$1');
    } else if (rest.startsWith('<!DOCTYPE')) {
      if (this.sawDoctype || this.sawRoot) this.fail(i + 9, 'inappropriately located doctype declaration.');
      this.text += normalizeNewlines(rest.slice(9));
    }
  }

  private fail(at: number, message: string): void {
    this.moveCursor(at);
    const position = `${this.cursorLine}:${this.cursorColumn}`;
    this.listener.error(`${this.file}:${position}: ${message}`, position);
  }

  /** Counts lines and columns up to `to` in `buf` (forward from the last count; back restarts it). */
  private moveCursor(to: number): void {
    const buf = this.buf;
    if (to < this.cursor) {
      this.cursor = 0;
      this.cursorLine = this.line;
      this.cursorColumn = this.column;
    }
    let i = this.cursor;
    let line = this.cursorLine;
    let column = this.cursorColumn;
    if (buf.indexOf('\r', i) >= 0 && buf.indexOf('\r', i) < to) {
      while (i < to) {
        const c = buf.charCodeAt(i++);
        if (c === LF || c === CR) {
          if (c === CR && buf.charCodeAt(i) === LF) i++;
          line++;
          column = 0;
        } else {
          if (c >= 0xd800 && c <= 0xdbff) i++;
          column++;
        }
      }
      this.cursor = i;
    } else {
      let nl = buf.indexOf('\n', i);
      while (nl >= 0 && nl < to) {
        line++;
        column = 0;
        i = nl + 1;
        nl = buf.indexOf('\n', i);
      }
      // A surrogate pair is one column.
      const rest = i < to ? buf.slice(i, to) : '';
      column += rest.length - (SURROGATE_PAIR.test(rest) ? rest.match(SURROGATE_PAIRS)!.length : 0);
      this.cursor = to;
    }
    this.cursorLine = line;
    this.cursorColumn = column;
  }
}
