// Validates CSAF files with the secvisogram csaf-validator-lib: for a CSAF
// 2.0 document the csaf_2_0 and csaf_2_0_strict JSON schemas and every
// mandatory test (section 6.1 of the standard); for a CSAF 2.1 document the
// library's csaf_2_1 schemas and 2.1 mandatory tests (run with validate.js:
// the library's strict mode admits only its 2.0 tests). Optional tests
// (6.2) run too for 2.0 and are reported as warnings only.
//
// Usage: node validate.mjs FILE...
// Prints one JSON object per file; exits 1 if any file fails a schema or
// mandatory test, 2 on a usage or read error.
//
// Or: node validate.mjs --compare ORIGINAL EXPORT
// Runs the same tests on both and prints the tests that pass on ORIGINAL
// but fail on EXPORT (an export must not break what its original gets
// right); exits 1 if there is one.

import { readFile } from 'node:fs/promises'
import validateStrict from '@secvisogram/csaf-validator-lib/validateStrict.js'
import validate from '@secvisogram/csaf-validator-lib/validate.js'
import * as mandatory from '@secvisogram/csaf-validator-lib/mandatoryTests.js'
import * as optional from '@secvisogram/csaf-validator-lib/optionalTests.js'
import { csaf_2_0, csaf_2_0_strict } from '@secvisogram/csaf-validator-lib/schemaTests.js'
import * as mandatory21 from '@secvisogram/csaf-validator-lib/csaf_2_1/mandatoryTests.js'
import { csaf_2_1, csaf_2_1_strict } from '@secvisogram/csaf-validator-lib/csaf_2_1/schemaTests.js'

// The schema and mandatory tests of the document's CSAF version, and the
// validator that may run them.
function required(doc) {
  if (doc?.document?.csaf_version === '2.1') {
    return [validate, [csaf_2_1, csaf_2_1_strict, ...Object.values(mandatory21)]]
  }
  return [validateStrict, [csaf_2_0, csaf_2_0_strict, ...Object.values(mandatory)]]
}

const args = process.argv.slice(2)

async function read(file) {
  try {
    return JSON.parse(await readFile(file, 'utf8'))
  } catch (e) {
    console.error(`${file}: ${e.message}`)
    process.exit(2)
  }
}

if (args[0] === '--compare') {
  if (args.length !== 3) {
    console.error('usage: node validate.mjs --compare ORIGINAL EXPORT')
    process.exit(2)
  }
  const passing = async (file) => {
    const doc = await read(file)
    const [run, tests] = required(doc)
    const result = await run(tests, doc)
    return new Map(result.tests.map((t) => [t.name, t]))
  }
  const original = await passing(args[1])
  const exported = await passing(args[2])
  const regressions = [...original.values()]
    .filter((t) => t.isValid && !exported.get(t.name)?.isValid)
    .map((t) => ({ test: t.name, errors: exported.get(t.name)?.errors ?? 'not run' }))
  const failing = (m) => [...m.values()].filter((t) => !t.isValid).map((t) => t.name)
  console.log(
    JSON.stringify(
      {
        tests_run: original.size,
        original_failing: failing(original),
        export_failing: failing(exported),
        regressions,
      },
      null,
      2
    )
  )
  process.exit(regressions.length > 0 ? 1 : 0)
}

const files = args
if (files.length === 0) {
  console.error('usage: node validate.mjs FILE...')
  process.exit(2)
}

let failed = false
for (const file of files) {
  let doc
  try {
    doc = JSON.parse(await readFile(file, 'utf8'))
  } catch (e) {
    console.error(`${file}: ${e.message}`)
    process.exit(2)
  }
  const [run, tests] = required(doc)
  const result = await run(tests, doc)
  const advice =
    doc?.document?.csaf_version === '2.1'
      ? { tests: [] }
      : await validateStrict(Object.values(optional), doc)
  const failures = result.tests
    .filter((t) => !t.isValid)
    .map((t) => ({ test: t.name, errors: t.errors }))
  const warnings = advice.tests
    .filter((t) => t.warnings.length > 0 || t.errors.length > 0)
    .map((t) => [t.name, t.warnings.length + t.errors.length])
  console.log(
    JSON.stringify(
      {
        file,
        isValid: result.isValid,
        tests_run: result.tests.length,
        tests_passed: result.tests.filter((t) => t.isValid).length,
        failures,
        optional_tests_run: advice.tests.length,
        optional_warnings: Object.fromEntries(warnings),
      },
      null,
      2
    )
  )
  failed = failed || !result.isValid
}
process.exit(failed ? 1 : 0)
