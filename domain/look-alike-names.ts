// Unicode 17's scripts by their four-letter codes, the most written first (a name is checked against them in
// this order). Common (digits, spaces, punctuation) and Inherited (combining accents) belong to every script.
// A script the running engine does not know is left out: it has no letters there either.
const SCRIPTS = (
  'Latn Cyrl Grek Arab Hebr Hani Hira Kana Hang Deva Thai Beng Taml Telu Knda Mlym Gujr Guru Orya Sinh Mymr ' +
  'Khmr Laoo Tibt Geor Armn Ethi Thaa Syrc Mong Bopo Adlm Aghb Ahom Armi Avst Bali Bamu Bass Batk Bhks Brah ' +
  'Brai Bugi Buhd Cakm Cans Cari Cham Cher Chrs Copt Cpmn Cprt Diak Dogr Dsrt Dupl Egyp Elba Elym Gara Glag ' +
  'Gong Gonm Goth Gran Gukh Hano Hatr Hluw Hmng Hmnp Hung Ital Java Kali Kawi Khar Khoj Kits Krai Kthi Lana ' +
  'Lepc Limb Lina Linb Lisu Lyci Lydi Mahj Maka Mand Mani Marc Medf Mend Merc Mero Modi Mroo Mtei Mult Nagm ' +
  'Nand Narb Nbat Newa Nkoo Nshu Ogam Olck Onao Orkh Osge Osma Ougr Palm Pauc Perm Phag Phli Phlp Phnx Plrd ' +
  'Prti Rjng Rohg Runr Samr Sarb Saur Sgnw Shaw Shrd Sidd Sind Sogd Sogo Sora Soyo Sund Sunu Sylo Tagb Takr ' +
  'Tale Talu Tang Tavt Tfng Tglg Todr Toto Tirh Tnsa Tutg Ugar Vaii Vith Wara Wcho Xpeo Xsux Yezi Yiii Zanb ' +
  'Berf Sidt Tayo Tols'
).split(' ').filter(knownToEngine)

/** Whether this JavaScript engine's Unicode version has the script (an older Node lacks Unicode 17's). */
export function knownToEngine (script: string): boolean {
  try {
    return new RegExp(`\\p{scx=${script}}`, 'u').unicode
  } catch {
    return false
  }
}

// UTS #39's "highly restrictive" level: letters of one script, or Latin with the scripts that
// Japanese, Chinese and Korean writing mix with Han. A letter's script extensions count (the
// Japanese prolonged sound mark is Hiragana and Katakana), so a character shared by scripts fits each.
const WRITING_SYSTEMS = [...SCRIPTS.map(script => [script]), ['Latn', 'Hani', 'Hira', 'Kana'], ['Latn', 'Hani', 'Bopo'], ['Latn', 'Hani', 'Hang']]
const classOf = (scripts: string[]) => scripts.map(script => `\\p{scx=${script}}`).join('') + '\\p{scx=Zyyy}\\p{scx=Zinh}'
const WHOLLY_IN = WRITING_SYSTEMS.map(scripts => new RegExp(`^[${classOf(scripts)}]*$`, 'u'))
const LETTERS_OF = SCRIPTS.map(script => ({ script, letters: new RegExp(`\\p{sc=${script}}`, 'u') }))
const SCRIPT_NAMES = new Intl.DisplayNames(['en'], { type: 'script' })
// Code points no one sees: format characters, variation selectors, Hangul fillers, the combining grapheme joiner...
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

/** The scripts the name's letters belong to: "Latin and Cyrillic". */
function scriptsOf (name: string): string {
  return LETTERS_OF.filter(({ letters }) => letters.test(name)).map(({ script }) => SCRIPT_NAMES.of(script)).join(' and ')
}

/**
 * Why a city name, already folded to NFKC (fullwidth and mathematical letters are plain ones
 * then), could pass for another name, or undefined. Confusables are refused rather than mapped to
 * one key (UTS #39's skeleton): a skeleton also joins names that differ ("rn" and "m"), would
 * change the keys of stored cities, and leaves the client guessing which city its spelling hit;
 * a refusal names the character to fix. A name wholly in one script that looks like a name in
 * another (Cyrillic "Сосо" and Latin "Coco") is allowed: it is a real spelling in its script.
 */
export function lookAlikeProblem (name: string): string | undefined {
  if (PRINTABLE_ASCII.test(name)) return undefined
  const invisible = INVISIBLE.exec(name)
  if (invisible !== null) {
    return `it contains an invisible character (U+${(invisible[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')})`
  }
  if (WHOLLY_IN.some(system => system.test(name))) return undefined
  return `it mixes letters of different scripts (${scriptsOf(name)}), which can look like another name`
}

/** Every script the checks know, for a test that the running Unicode version has no letter outside them. */
export const KNOWN_SCRIPTS: readonly string[] = SCRIPTS
