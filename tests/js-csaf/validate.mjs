// Validates CSAF 2.0 files with the secvisogram csaf-validator-lib: the
// csaf_2_0 and csaf_2_0_strict JSON schemas and every mandatory test
// (section 6.1 of the standard). Optional tests (6.2) run too and are
// reported as warnings only.
//
// Usage: node validate.mjs FILE...
// Prints one JSON object per file; exits 1 if any file fails a schema or
// mandatory test, 2 on a usage or read error.

import { readFile } from 'node:fs/promises'
import validateStrict from '@secvisogram/csaf-validator-lib/validateStrict.js'
import * as mandatory from '@secvisogram/csaf-validator-lib/mandatoryTests.js'
import * as optional from '@secvisogram/csaf-validator-lib/optionalTests.js'
import { csaf_2_0, csaf_2_0_strict } from '@secvisogram/csaf-validator-lib/schemaTests.js'

const files = process.argv.slice(2)
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
  const required = [csaf_2_0, csaf_2_0_strict, ...Object.values(mandatory)]
  const result = await validateStrict(required, doc)
  const advice = await validateStrict(Object.values(optional), doc)
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
