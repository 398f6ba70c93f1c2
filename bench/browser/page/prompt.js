// The bench's raw completion prompt: plain prose (written for this bench), longer than 128
// tokens in every tokenizer Hearth supports; the page cuts it to exactly 128 tokens of the
// model under test. Prose keeps a small model continuing rather than ending its reply early
// (Hearth has no ignore-EOS switch).
export const PASSAGE = `The old farmhouse at the edge of the valley was built around a single stone hearth, \
and for nearly two hundred years every part of the household turned toward it. In the morning \
the first person awake raked the ashes, found the coals still glowing underneath, and fed them \
with dry kindling split the evening before. Bread was baked in a small iron oven set into the \
side of the chimney, soup simmered in a heavy pot that hung from a swinging arm, and wet boots \
were lined up along the warm flagstones to dry. In winter the family ate, read and mended \
clothes within a few steps of the fire, because the rooms upstairs were so cold that water left \
in a jug would freeze overnight. Children learned their letters from a slate propped against the \
woodpile, and the grandmother told long stories about storms, lost sheep and travelling \
merchants while the wind pressed against the shutters. When the railway reached the valley, \
coal replaced wood, and later a cast iron range was fitted where the open fire had been, but the \
habit of gathering in that room never faded. Even now, long after central heating arrived, the \
people who live there still put their chairs close to the chimney breast on autumn evenings, as \
if the warmth of all those earlier fires were stored in the stones themselves.`;

/** A short prompt that shares at most a BOS token with the passage: run before each timed
 * request, it empties Hearth's prompt-prefix cache, so every run prefills the whole prompt. */
export const FLUSH = '42';
