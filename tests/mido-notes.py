#!/usr/bin/python3
"""mido-notes.py: an outside reading of MIDI files, for test-midi to compare tactus's reader with.

Reads each file given with mido and prints a canonical dump that test-midi's C side prints the same
way from a tx_score. It is written from midi.h's rules, not from midi.c: tracks per chunk by
(channel, program at note-off), notes paired first in, first out per chunk, channel and pitch, notes
still sounding at the end of a chunk closed at its last tick, note-offs with nothing sounding ignored.
It is not a general MIDI tool. Exit status 3 when mido is missing (the test then skips).

Output, per file: "file NAME", "tpq N", then sorted lines
  "track CHUNK_ORDER CHANNEL PROGRAM NAME" (in score order),
  "note ONSET DURATION PITCH VELOCITY CHANNEL PROGRAM",
  "tempo TICK USEC", "timesig TICK NUM DEN", "keysig TICK FIFTHS MINOR".
"""
import sys

try:
    import mido
except ImportError:
    sys.exit(3)


def dump(path):
    mf = mido.MidiFile(path, clip=False)
    out = ["file " + path.rsplit("/", 1)[-1], "tpq %d" % mf.ticks_per_beat]
    tracks, notes = [], []
    tempos, timesigs, keysigs = {}, {}, {}
    order = 0
    for chunk in mf.tracks:
        tick = 0
        program = [0] * 16
        sounding = {}          # (channel, pitch) -> list of (onset, velocity), oldest first
        used = set()
        name = ""
        chunk_notes = []

        def end_note(ch, pitch, at):
            queue = sounding.get((ch, pitch))
            if not queue:
                return
            onset, vel = queue.pop(0)
            key = (ch, program[ch])
            used.add(key)
            chunk_notes.append((onset, at - onset, pitch, vel, ch, program[ch]))

        for msg in chunk:
            tick += msg.time
            t = msg.type
            if t == "note_on" and msg.velocity > 0:
                sounding.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif t in ("note_on", "note_off"):
                end_note(msg.channel, msg.note, tick)
            elif t == "program_change":
                program[msg.channel] = msg.program
            elif t == "track_name":
                name = msg.name
            elif t == "set_tempo" and msg.tempo > 0:
                tempos[tick] = msg.tempo
            elif t == "time_signature" and msg.numerator > 0 and msg.denominator <= 128:
                timesigs[tick] = (msg.numerator, msg.denominator)
            elif t == "key_signature":
                key = msg.key
                minor = key.endswith("m")
                keysigs[tick] = (KEYS[key.rstrip("m")] - (3 if minor else 0), int(minor))
            if t == "end_of_track":
                break
        for (ch, pitch) in sorted(sounding):
            while sounding[(ch, pitch)]:
                end_note(ch, pitch, tick)
        for key in sorted(used):
            tracks.append("track %d %d %d %s" % (order, key[0], key[1], name))
            order += 1
        notes.extend(chunk_notes)
    out.extend(tracks)
    out.extend(sorted("note %d %d %d %d %d %d" % n for n in notes))
    out.extend("tempo %d %d" % (k, v) for k, v in sorted(tempos.items()))
    out.extend("timesig %d %d %d" % (k, v[0], v[1]) for k, v in sorted(timesigs.items()))
    out.extend("keysig %d %d %d" % (k, v[0], v[1]) for k, v in sorted(keysigs.items()))
    return out


# mido spells key signatures as names; the fifths of each major key name (a minor key "Xm" is the
# major key three fifths up from its tonic, so its fifths are those of X minus 3).
KEYS = {"Cb": -7, "Gb": -6, "Db": -5, "Ab": -4, "Eb": -3, "Bb": -2, "F": -1, "C": 0, "G": 1, "D": 2,
        "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7, "G#": 8, "D#": 9, "A#": 10}


def main():
    for path in sys.argv[1:]:
        try:
            lines = dump(path)
        except Exception as e:  # a file mido cannot read: say so, the C side compares that
            lines = ["file " + path.rsplit("/", 1)[-1], "error %s" % type(e).__name__]
        # mido decodes texts as Latin-1; encoding back gives the file's own bytes, as tactus keeps them
        sys.stdout.buffer.write(("\n".join(lines) + "\n").encode("latin-1", "replace"))


if __name__ == "__main__":
    main()
