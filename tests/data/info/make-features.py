#!/usr/bin/python3
"""Writes features.mid, the golden fixture for `tactus info --json`: a type-1 file at 96 ticks per
quarter with a title, tempo and signature changes, two key signatures, a violin, and drums on channel 10.
Run with Debian's python3 (python3-mido). The .mid is committed; this script says how it was made."""
import mido

mid = mido.MidiFile(type=1, ticks_per_beat=96)
conductor = mido.MidiTrack()
conductor += [
    mido.MetaMessage('track_name', name='Features', time=0),
    mido.MetaMessage('set_tempo', tempo=500000, time=0),
    mido.MetaMessage('time_signature', numerator=3, denominator=4, time=0),
    mido.MetaMessage('key_signature', key='D', time=0),
    mido.MetaMessage('set_tempo', tempo=400000, time=288 * 2),
    mido.MetaMessage('time_signature', numerator=6, denominator=8, time=0),
    mido.MetaMessage('key_signature', key='Bm', time=288),
    mido.MetaMessage('end_of_track', time=0),
]
violin = mido.MidiTrack()
violin += [mido.MetaMessage('track_name', name='Violin', time=0),
           mido.Message('program_change', channel=0, program=40, time=0)]
for i, p in enumerate([62, 64, 66, 67, 69, 71, 73, 74]):
    violin.append(mido.Message('note_on', channel=0, note=p, velocity=80 + i, time=0 if i == 0 else 0))
    violin.append(mido.Message('note_off', channel=0, note=p, velocity=0, time=144))
violin.append(mido.MetaMessage('end_of_track', time=0))
drums = mido.MidiTrack()
drums += [mido.MetaMessage('track_name', name='Kit', time=0)]
for i in range(12):
    drums.append(mido.Message('note_on', channel=9, note=36 if i % 2 == 0 else 38, velocity=100, time=0 if i == 0 else 72))
    drums.append(mido.Message('note_on', channel=9, note=36 if i % 2 == 0 else 38, velocity=0, time=24))
drums.append(mido.MetaMessage('end_of_track', time=0))
mid.tracks += [conductor, violin, drums]
mid.save('features.mid')
