import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import ts from 'typescript'

// The house rule: a function is at most about 60 lines, unless a comment right before it says why it is kept whole.
const MAX_LINES = 60
const KEPT_WHOLE = /kept whole/i

interface LongFunction {
  where: string
  lines: number
  explained: boolean
}

/** The comments right before a function, or before the statement or property that holds it. */
function leadingComments (text: string, node: ts.Node): string {
  let holder: ts.Node = node
  while (holder.parent !== undefined && !ts.isSourceFile(holder.parent) && !ts.isBlock(holder.parent) &&
    !ts.isClassLike(holder.parent) && !ts.isObjectLiteralExpression(holder.parent)) holder = holder.parent
  const ranges = [...ts.getLeadingCommentRanges(text, holder.getFullStart()) ?? [], ...ts.getLeadingCommentRanges(text, node.getFullStart()) ?? []]
  return ranges.map(range => text.slice(range.pos, range.end)).join('\n')
}

function longFunctions (path: string): LongFunction[] {
  const text = readFileSync(path, 'utf8')
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true)
  const found: LongFunction[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line
      if (last - first + 1 > MAX_LINES) {
        found.push({ where: `${path}:${first + 1}`, lines: last - first + 1, explained: KEPT_WHOLE.test(leadingComments(text, node)) })
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

const sources = execFileSync('git', ['ls-files', '*.ts'], { encoding: 'utf8' }).split('\n')
  .filter(path => path !== '' && !path.startsWith('test/') && !path.startsWith('bench/'))

t.test('every function of the service\'s source is at most 60 lines, or a comment before it says why it is kept whole', async t => {
  t.ok(sources.length > 50, `${sources.length} source files read`)
  const long = sources.flatMap(longFunctions)
  t.same(long.filter(fn => !fn.explained).map(fn => `${fn.where} (${fn.lines} lines)`), [], 'no long function without a reason')
  t.comment(long.map(fn => `${fn.where}: ${fn.lines} lines, says why it is kept whole`).join('\n'))
})

t.test('the check finds a long function, and accepts it only with its reason', async t => {
  const body = Array.from({ length: MAX_LINES }, (_, i) => `  const v${i} = ${i}`).join('\n')
  const write = (comment: string) => {
    const path = join(t.testdir(), 'long.ts')
    writeFileSync(path, `${comment}\nexport function long () {\n${body}\n}\n`)
    return longFunctions(path)
  }
  t.match(write('/** What it does. */'), [{ lines: MAX_LINES + 2, explained: false }])
  t.match(write('// Kept whole: its steps share one state.'), [{ lines: MAX_LINES + 2, explained: true }])
})
