// Validates OSV records against the OSV JSON schema (draft 2020-12) with ajv, formats
// (date-time, uri) checked too.
//
//   node osv.mjs SCHEMA.json FILE.json...
//
// ajv is read from $AGEDROP_VALIDATORS/node_modules (.ci/run installs it there). Prints
// every error and exits 1 if any record is not valid, 2 if ajv is missing.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const root = process.env.AGEDROP_VALIDATORS
if (!root) {
  console.error('set AGEDROP_VALIDATORS to the folder npm installed the validators into')
  process.exit(2)
}
const load = (file) =>
  import(pathToFileURL(path.join(root, 'node_modules', file)).href)

let Ajv2020, addFormats
try {
  Ajv2020 = (await load('ajv/dist/2020.js')).default
  addFormats = (await load('ajv-formats/dist/index.js')).default
} catch (e) {
  console.error(`cannot load ajv under ${root}: ${e.message}`)
  process.exit(2)
}
const [schemaFile, ...files] = process.argv.slice(2)
const ajv = new Ajv2020({ allErrors: true, strict: false })
addFormats(ajv)
const validate = ajv.compile(JSON.parse(await readFile(schemaFile, 'utf8')))

let failed = false
for (const file of files) {
  const record = JSON.parse(await readFile(file, 'utf8'))
  const valid = validate(record)
  for (const e of validate.errors ?? []) {
    console.log(`${file}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`)
  }
  console.log(`${file}: ${valid ? 'valid' : 'NOT VALID'} against ${path.basename(schemaFile)}`)
  failed ||= !valid
}
process.exit(failed ? 1 : 0)
