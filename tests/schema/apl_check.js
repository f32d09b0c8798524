// Validates APL documents offline with apl-suggester's StaticAplTemplateValidator.
// Usage: node tests/schema/apl_check.js FILE... ; prints one JSON object per line
// {"file": ..., "errors": [{"path": ..., "message": ...}]}; exit 1 when any file has errors.
'use strict';
const fs = require('fs');
const { StaticAplTemplateValidator } = require('apl-suggester');

async function main(files) {
  const validator = new StaticAplTemplateValidator();
  let failed = false;
  for (const file of files) {
    let errors;
    try {
      const document = JSON.parse(fs.readFileSync(file, 'utf8'));
      const results = await validator.validate(document);
      errors = results.map((r) => ({ path: r.path, message: r.errorMessage }));
    } catch (err) {
      errors = [{ path: '', message: String(err && err.message ? err.message : err) }];
    }
    if (errors.length) failed = true;
    console.log(JSON.stringify({ file, errors }));
  }
  process.exit(failed ? 1 : 0);
}

main(process.argv.slice(2));
