// Validates CSAF 2.0 documents with the BSI's validator (secvisogram's
// csaf-validator-lib): the strict JSON schema and every mandatory test (6.1.*).
//
//   node csaf.mjs FILE.json...
//
// The library is read from $AGEDROP_VALIDATORS/node_modules (.ci/run installs it there,
// pinned by package-lock.json beside this file). Prints each failed test's errors and
// exits 1 if any document is not valid, 2 if the library is missing.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const root = process.env.AGEDROP_VALIDATORS
if (!root) {
  console.error('set AGEDROP_VALIDATORS to the folder npm installed the validators into')
  process.exit(2)
}
const lib = (file) =>
  import(
    pathToFileURL(
      path.join(root, 'node_modules', '@secvisogram', 'csaf-validator-lib', file)
    ).href
  )

let validateStrict, schema, mandatory
try {
  validateStrict = (await lib('validateStrict.js')).default
  schema = await lib('schemaTests.js')
  mandatory = await lib('mandatoryTests.js')
} catch (e) {
  console.error(`cannot load csaf-validator-lib under ${root}: ${e.message}`)
  process.exit(2)
}
const tests = [schema.csaf_2_0_strict, ...Object.values(mandatory)]

let failed = false
for (const file of process.argv.slice(2)) {
  const doc = JSON.parse(await readFile(file, 'utf8'))
  const result = await validateStrict(tests, doc)
  for (const test of result.tests.filter((t) => !t.isValid || t.errors.length)) {
    for (const e of test.errors) {
      console.log(`${file}: ${test.name} ${e.instancePath}: ${e.message}`)
    }
  }
  const ran = result.tests.length
  console.log(`${file}: ${ran} tests (schema and mandatory), ${result.isValid ? 'valid' : 'NOT VALID'}`)
  failed ||= !result.isValid
}
process.exit(failed ? 1 : 0)
