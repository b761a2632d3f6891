import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/loaders/index.js';
import { tempDir } from './fixtures.js';
test('kuairand loader: official long-view rule, unknown durations, outcomes are labels', async () => {
    const dir = tempDir('kr');
    const rows = [
        // user, video, click, play, duration, tab, video_type, onehot_feat0
        [0, 10, 1, 20000, 60000, 1, 0, '1.0'], // long video, played 20 s ≥ 18 s → long view
        [1, 10, 0, 5000, 60000, 1, 0, '0.0'], // 5 s < 18 s → no
        [2, 11, 1, 9000, 9000, 1, 1, '1.0'], // 9 s video watched fully → long view
        [3, 11, 1, 8000, 9000, 1, 1, '2.0'], // not finished → no
        [4, 12, 1, 500, 0, 1, 1, '0.0'], // unknown duration, 0.5 s → no (literal rule would say yes)
        [5, 12, 1, 19000, 0, 1, 1, '1.0'], // unknown duration, 19 s → long view
    ];
    writeFileSync(join(dir, 'kr.csv'), `user_id,video_id,is_click,play_time_ms,duration_ms,tab,video_type,onehot_feat0,comment_stay_time\n${rows.map((r) => `${r.join(',')},0`).join('\n')}\n`);
    const ds = await loadDataset(`kuairand:${join(dir, 'kr.csv')}`, {
        split: { kind: 'time', train: 0.5, valid: 0.2 },
    });
    assert.deepEqual([...ds.events.columns.labels.long_view], [1, 0, 1, 0, 0, 1]);
    assert.equal(ds.schema.field('play_time_ms').kind, 'label');
    assert.equal(ds.schema.field('comment_stay_time').kind, 'label');
    assert.equal(ds.vocabs.onehot_feat0.has('1'), true, "'1.0' is read as code 1");
    assert.equal(ds.labels.long, 'long_view');
    writeFileSync(join(dir, 'bad.csv'), 'user_id,video_id,is_click\n1,2,0\n');
    await assert.rejects(loadDataset(`kuairand:${join(dir, 'bad.csv')}`), /missing columns play_time_ms, duration_ms; columns present: user_id, video_id, is_click/);
});
//# sourceMappingURL=kuairand.test.js.map