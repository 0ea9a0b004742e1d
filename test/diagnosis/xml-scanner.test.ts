import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SaxesParser } from 'saxes';
import { XmlScanner } from '../../src/diagnosis/xml-scanner';
import { REPO_ROOT } from './helpers';

type Event = string;

/**
 * What a parser reports, as one list: tags with their attributes, text, CDATA and errors. Errors
 * ending in `disallowed character.` about control characters are left out on both sides: the reader
 * ignores them, and the scanner does not look for them.
 */
function saxesEvents(file: string, chunks: string[], withText: boolean): Event[] {
  const events: Event[] = [];
  const parser = new SaxesParser({ fileName: file });
  parser.on('opentag', (tag) => events.push(`open ${tag.name} ${JSON.stringify(Object.entries(tag.attributes))}`));
  parser.on('closetag', (tag) => events.push(`close ${tag.name}`));
  parser.on('error', (e) => events.push(`error ${e.message}`));
  if (withText) {
    parser.on('text', (t) => events.push(`text ${JSON.stringify(t)}`));
    parser.on('cdata', (t) => events.push(`cdata ${JSON.stringify(t)}`));
  }
  for (const chunk of chunks) parser.write(chunk);
  parser.close();
  return withoutControlCharErrors(events);
}

function scannerEvents(file: string, chunks: string[], withText: boolean): Event[] {
  const events: Event[] = [];
  const scanner = new XmlScanner(file, {
    openTag: (name, attributes) => events.push(`open ${name} ${JSON.stringify(attributes.entries())}`),
    closeTag: (name) => events.push(`close ${name}`),
    text: (t) => events.push(`text ${JSON.stringify(t)}`),
    cdata: (t) => withText && events.push(`cdata ${JSON.stringify(t)}`),
    error: (message) => events.push(`error ${message}`),
  });
  scanner.wantText = withText;
  for (const chunk of chunks) scanner.write(chunk);
  scanner.close();
  return withoutControlCharErrors(events);
}

function withoutControlCharErrors(events: Event[]): Event[] {
  return events.filter((e) => !(e.startsWith('error ') && e.endsWith(': disallowed character.') && !/<|>/.test(e)));
}

/** The text cut into pieces of `size` characters. */
function chunked(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

function assertSame(file: string, chunks: string[], label: string): void {
  for (const withText of [true, false]) {
    assert.deepEqual(scannerEvents(file, chunks, withText), saxesEvents(file, chunks, withText), `${label} (text ${withText ? 'on' : 'off'})`);
  }
}

/** Small inputs: each one whole, and cut in two at every position. */
const EDGE_CASES: [string, string][] = [
  ['entities', '<a x="&lt;&amp;&gt;&quot;&apos;&#65;&#x42;&#x1F600;">t &amp; &#10; &lt;b&gt; &#x41;</a>'],
  ['both quote kinds', `<a x='say "hi"' y="it's">q</a>`],
  ['white space in attributes', '<a x="1\t2\n3\r\n4\r5" y = "z"\n\tz=\'w\'\r\n/>'],
  ['CRLF and CR in text', '<a>one\r\ntwo\rthree\n\r\nfour</a>'],
  ['CDATA', '<a>before<![CDATA[x < y && ]] ]> z\r\n]]]>after</a>'],
  ['comments and PIs', '<?xml version="1.0" encoding="UTF-8"?><!-- head --><?pi some body?><a><!-- c - d --><?target x?>t</a><!-- tail -->'],
  ['DOCTYPE', '<?xml version="1.0"?>\n<!DOCTYPE a [ <!ENTITY e "v"> <!-- c --> <?p x?> ]>\n<a>x</a>'],
  ['byte order mark', '\uFEFF<a>x</a>'],
  ['astral characters', '<a n="\u{1F600}">\u{1F600}\u{1F600} text</a>'],
  ['self-closing and nesting', '<s><c a="1"/><c a="2"><f m="x">body</f><o>out</o></c></s>'],
  ['undefined entity', '<a>x &nbsp; y</a>'],
  ['malformed character reference', '<a x="&#xZZ;">&#0;</a>'],
  ['bare ampersand', '<a>fish & chips; more</a>'],
  ['ampersand in attribute', '<a x="a & b" y="c">t;</a>'],
  ['less-than in attribute', '<a x="1 < 2">t</a>'],
  ['duplicate attribute', '<a x="1" x="2">t</a>'],
  ['truncated in a tag', '<a><b x="1'],
  ['truncated in text', '<s><c>some text'],
  ['truncated in CDATA', '<s><c><![CDATA[part of'],
  ['mismatched close tag', '<a><b></a>'],
  ['unmatched close tag', '<a></b>x</a>'],
  ['text outside the root', 'junk<a/>more'],
  ['two roots', '<a/><b/>'],
  ['not XML', 'just some words\nand more\n'],
  ['empty', ''],
  [']]> in text', '<a>x ]]> y</a>'],
  ['malformed comment', '<a><!-- a -- b --></a>'],
  ['attribute without value', '<a b c="1" d>t</a>'],
  ['unquoted value', '<a b=c>t</a>'],
  ['no space between attributes', '<a b="1"c="2">t</a>'],
  ['slash not closing', '<a / b="1">t</a>'],
  ['close tag with space', '<a>t</a >'],
  ['weird close tag', '<a></ >t</a>'],
  ['less-than in text', '<a>1 < 2</a>'],
  ['XML declaration late', '<!-- c --><?xml version="1.0"?><a/>'],
  ['bad XML version', '<?xml version="2.0"?><a/>'],
  ['unknown bang', '<a><!ELEMENT x></a>'],
  ['control characters', '<a>\x1b[31mred\x1b[0m\x07</a>'],
  ['DOCTYPE after the root', '<a/><!DOCTYPE a>'],
  ['processing instruction without a target', '<a><? x?><?1x y?></a>'],
  ['text after the root', '<a/>\ntrailing\n'],
  ['truncated in a comment', '<a><!-- not -- closed'],
  ['truncated in a DOCTYPE', '<!DOCTYPE a "x'],
  ['UTF-16 surrogates in names and positions', '<a \u{10000}b="1">\u{1F600}</a \u{1F600}>'],
  // The scanner first tries the name it saw there last (see guessedAt): names that extend, shorten or
  // differ from the last ones, and closing tags that do not match the open element, must read alike.
  [
    'names like the last ones',
    '<ab x="1" xy="2"><a xy="1" x="2"/><abc x="1" x ="2"/><ab x="1" xy="2" xy="3"></ab><ab\u00e9 x\u00e9="1"></ab\u00e9><a x=\'1\' x$="2"></ab></a ></ab>',
  ],
  ['a real-looking failure', '<testsuite name="s" tests="1"><testcase classname="c" name="t &amp; u" time="1,5"><failure message="expected &lt;200&gt;&#10;got 500" type="AssertionError"><![CDATA[at x.py:1\r\nE  assert 200 == 500]]></failure><system-out>log &#x1b;</system-out></testcase></testsuite>'],
];

describe('XML scanner: the same events and errors as saxes', () => {
  it('on every real report and fixture, in 64 KB chunks and in chunks of 1000', function () {
    this.timeout(300_000);
    const files = [...allFiles(path.join(REPO_ROOT, 'test/fixtures/real')), ...allFiles(path.join(REPO_ROOT, 'test/fixtures/junit'))].filter((f) => !f.endsWith('.md'));
    assert.ok(files.length > 100, `only ${files.length} fixtures`);
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      for (const size of [65536, 1000]) assertSame(file, chunked(text, size), `${file} in chunks of ${size}`);
    }
  });

  for (const [label, xml] of EDGE_CASES) {
    it(`${label}: whole and cut at every position`, () => {
      assertSame('edge.xml', [xml], `${label} whole`);
      for (let at = 1; at < xml.length; at++) assertSame('edge.xml', [xml.slice(0, at), xml.slice(at)], `${label} cut at ${at}`);
    });
  }
});
