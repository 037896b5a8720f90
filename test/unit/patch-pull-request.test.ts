/** A person's pull request text is kept: FluxManifestPatch's part lives in a marked section. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeDescription, SECTION_BEGIN, SECTION_END } from '../../tasks/common/patch/commit';

test('new, appended after a person, replaced in place, unchanged', () => {
  const a = mergeDescription(undefined, 'client id A');
  assert.equal(a.change, 'new');
  assert.equal(a.description, `${SECTION_BEGIN}\nclient id A\n${SECTION_END}`);

  const person = mergeDescription('Please merge on Friday.\n', 'client id A');
  assert.equal(person.change, 'appended');
  assert.ok(person.description.startsWith('Please merge on Friday.\n\n'));

  const edited = `Intro by Ana\n\n${SECTION_BEGIN}\nclient id A\n${SECTION_END}\n\nFooter by Ana`;
  const b = mergeDescription(edited, 'client id B');
  assert.equal(b.change, 'replaced');
  assert.equal(b.description, `Intro by Ana\n\n${SECTION_BEGIN}\nclient id B\n${SECTION_END}\n\nFooter by Ana`);
  assert.equal(mergeDescription(b.description, 'client id B').change, 'unchanged');
});
