#!/usr/bin/env python3
"""The figures of models/README.md (the bundled model's card), measured again.

    python3 scripts/model-card.py --tactus build/tactus --corpora ../shared/corpora --work /tmp/card

For each corpus of the training mix it indexes the corpus (REMI+ tokens) into its own database under
--work, exports the held-out splits (valid and test), and reports for the model and for the 5-gram
Kneser-Ney baseline (trained on the mix's train split) bits per token and per note. Then it measures
infilling (the negative log-likelihood of bars 5-8 of held-out pieces with both contexts against the
left context alone) and samples continuations of held-out pieces, checking that each decodes and
keeps the key of its prompt (tactus analyze's estimate, tonic and mode). Only the standard library;
prints a Markdown report and writes every raw result as JSON lines under --work.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

# name -> folders under the corpora root: the bundled model's mix (see models/README.md)
MIX = {
    "pop909": ["pop909"],
    "jsb": ["jsb-chorales/csv-16th"],
    "abc-cre": ["abc/cre"],
    "abc-nottingham": ["abc/nottingham/ABC_cleaned"],
    "abc-oldtime": ["abc/oldtime-rjl20"],
}


def run(args, ok=(0,)):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode not in ok:
        raise subprocess.CalledProcessError(r.returncode, args, r.stdout, r.stderr)
    return r.stdout


def tactus_json(tactus, args):
    return [json.loads(line) for line in run([tactus] + args + ["--json"]).splitlines() if line.startswith("{")]


def index(tactus, db, folders):
    # exit status 1: some files did not parse (the index records them); the rest is indexed
    run([tactus, "corpus", "--db", db, "--tokenizer", "remi+", "index"] + folders, ok=(0, 1))


def export(tactus, db, split, out):
    run([tactus, "corpus", "--db", db, "--tokenizer", "remi+", "--split", split, "--out", out, "export"])
    return os.path.join(out, "remi+-%s.json" % split)


def held_out(tactus, db):
    rows = run([tactus, "corpus", "--db", db, "query",
                "SELECT path, x, format, notes FROM files WHERE status = 'ok' AND duplicate_of IS NULL "
                "AND split IN ('valid', 'test') ORDER BY id"]).splitlines()[1:]
    out = []
    for r in rows:
        path, x, fmt, notes = r.split("\t")
        out.append({"path": path, "tune": x if fmt == "abc" and x not in ("", "NULL") else None,
                    "notes": int(notes)})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tactus", default="build/tactus")
    ap.add_argument("--corpora", default="../shared/corpora")
    ap.add_argument("--work", required=True)
    ap.add_argument("--model", default=None, help="a checkpoint (default: the bundled model)")
    ap.add_argument("--train-shard", required=True, help="the mix's train shard, for the n-gram baseline")
    ap.add_argument("--continuations", type=int, default=1000)
    ap.add_argument("--infills", type=int, default=200)
    ap.add_argument("--bars", type=int, default=8, help="bars per sampled continuation")
    ap.add_argument("--prompt-bars", type=int, default=8, help="the opening given as the prompt, in bars")
    ap.add_argument("--jobs", type=int, default=2, help="continuations sampled at once")
    ap.add_argument("--sampler", default="", help="extra tactus continue options, e.g. '--temp 0.8'")
    ap.add_argument("--reference", action="store_true",
                    help="also measure how often the real next bars keep the opening's key")
    ap.add_argument("--skip-perplexity", action="store_true", help="only infilling and continuations")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    model = ["--model", a.model] if a.model else []
    raw = open(os.path.join(a.work, "raw.jsonl"), "w")
    print("## Held-out bits per token and per note (valid + test)\n")
    print("| corpus | tokens | model bits/token | 5-gram bits/token | model bits/note | 5-gram bits/note |")
    print("| --- | --- | --- | --- | --- | --- |")
    prompts = []
    total = {"tokens": 0, "m": 0.0, "g": 0.0}
    for name, folders in MIX.items():
        db = os.path.join(a.work, name + ".db")
        index(a.tactus, db, [os.path.join(a.corpora, f) for f in folders])
        shards = os.path.join(a.work, name)
        data = [export(a.tactus, db, s, shards) for s in ("valid", "test")]
        for p in held_out(a.tactus, db):
            p["corpus"] = name
            prompts.append(p)
        if a.skip_perplexity:
            continue
        m = tactus_json(a.tactus, ["eval"] + (model or ["--model", bundled(a.tactus)]) + sum([["--data", d] for d in data], []))
        g = tactus_json(a.tactus, ["eval", "--ngram", "5", "--train", a.train_shard] + sum([["--data", d] for d in data], []))
        mt = sum(r["tokens"] for r in m)
        mb = sum(r["bits_per_token"] * r["tokens"] for r in m) / mt
        gb = sum(r["bits_per_token"] * r["tokens"] for r in g) / mt
        mn = sum(r.get("bits_per_note", 0) * r.get("notes", 0) for r in m) / max(1, sum(r.get("notes", 0) for r in m))
        gn = sum(r.get("bits_per_note", 0) * r.get("notes", 0) for r in g) / max(1, sum(r.get("notes", 0) for r in g))
        total["tokens"] += mt
        total["m"] += mb * mt
        total["g"] += gb * mt
        print("| %s | %d | %.4f | %.4f | %.3f | %.3f |" % (name, mt, mb, gb, mn, gn))
        raw.write(json.dumps({"corpus": name, "model": m, "ngram": g}) + "\n")
    t = total["tokens"]
    if t:
        print("| **all** | %d | %.4f | %.4f | | |" % (t, total["m"] / t, total["g"] / t))
        print("\nThe model's bits per token are %.1f%% below the 5-gram's.\n" % (100 * (1 - total["m"] / total["g"])))

    # held-out pieces taken from the corpora in turn, for infilling and continuations
    by = {}
    for p in prompts:
        by.setdefault(p["corpus"], []).append(p)
    mixed = []
    for i in range(max(len(v) for v in by.values())):
        mixed += [v[i] for v in by.values() if i < len(v)]
    prompts = mixed

    # infilling: bars 5-8 of held-out pieces, with both contexts and with the left one alone
    per_infill = {}
    both = left = nosuf = 0.0
    nb = nl = 0
    better = done = 0
    for p in prompts:
        if done >= a.infills:
            break
        args = ["infill", p["path"], "--bars", "5-8", "--nll"] + model + (["--tune", p["tune"]] if p["tune"] else [])
        try:
            r = tactus_json(a.tactus, args)[0]
        except subprocess.CalledProcessError:
            continue   # shorter than five bars
        if r["tokens"] < 8 or r["suffix_tokens"] == 0:
            continue
        done += 1
        both += r["nll_both"]
        nb += r["tokens"]
        left += r["nll_left"]
        nosuf += r["nll_no_suffix"]
        nl += r["left_tokens"]
        won = r["nll_both"] / r["tokens"] < r["nll_left"] / max(1, r["left_tokens"])
        better += won
        c = per_infill.setdefault(p["corpus"], [0, 0.0, 0.0, 0, 0])
        c[0] += 1
        c[1] += r["nll_both"]
        c[2] += r["nll_left"]
        c[3] += r["tokens"]
        c[4] += won
        raw.write(json.dumps({"corpus": p["corpus"], "infill": r}) + "\n")
    if done:
        print("## Infilling (bars 5-8 of %d held-out pieces)\n" % done)
        print("- with both contexts: %.4f bits/token over %d tokens" % (both / nb / 0.6931471805599453, nb))
        print("- in the same form without what follows: %.4f bits/token" % (nosuf / nb / 0.6931471805599453))
        print("- with the left context alone: %.4f bits/token over %d tokens" % (left / nl / 0.6931471805599453, nl))
        print("- pieces where both contexts predict the bars better: %d of %d" % (better, done))
        for name, (cn, cb, cl, ct, cw) in per_infill.items():
            print("  - %s: %d pieces, both %.4f, left %.4f bits/token, both better in %d" %
                  (name, cn, cb / ct / 0.6931471805599453, cl / ct / 0.6931471805599453, cw))
        print()

    # continuations: every one decodes; does it keep its prompt's key? The prompt's key is the local key
    # of its last phrase (what the model sees; pop songs often modulate before the end); the
    # continuation's its own estimate.
    # the prompt is the opening (--prompt-bars) of a held-out piece at least half as long again; its
    # key is the local key at the opening's last bar (and, second, the whole piece's)
    keys = {}
    usable = []
    for p in prompts:
        tune = ["--tune", p["tune"]] if p["tune"] else []
        an = tactus_json(a.tactus, ["analyze", p["path"]] + tune)[0]
        segs = an.get("local_keys") or []
        if not segs or segs[-1]["to_bar"] < a.prompt_bars * 3 // 2:
            continue
        at = [g for g in segs if g["from_bar"] <= a.prompt_bars <= g["to_bar"]] or segs
        keys[(p["path"], p["tune"])] = (at[0], an["key"])
        usable.append(p)
    # the measure's reference: how often the real next bars of the same pieces keep the opening's key,
    # and a control: how often they "keep" the opening's key of another piece (the next one in the list)
    def same_key(k, pk):
        return (ALIASES.get(k["tonic"], k["tonic"]), k["mode"]) == (ALIASES.get(pk["tonic"], pk["tonic"]), pk["mode"])

    def kinship(k, pk):
        """(k is pk, k is pk or its relative, pk is among k's three best-correlated keys)"""
        exact = same_key(k, pk)
        return (exact, exact or relative(k) == (ALIASES.get(pk["tonic"], pk["tonic"]), pk["mode"]),
                exact or any(same_key(c, pk) for c in k.get("runners_up", [])[:2]))

    ref_n = 0
    ref = [0, 0, 0, 0]        # kept: exact, exact or relative, among the three best; control: exact
    for i, p in enumerate(usable if a.reference else []):
        tune = ["--tune", p["tune"]] if p["tune"] else []
        out = os.path.join(a.work, "real.mid")
        bars = "%d-%d" % (a.prompt_bars + 1, a.prompt_bars + a.bars)
        try:
            run([a.tactus, "convert", "--force", "--bars", bars, p["path"], out] + tune)
            ck = tactus_json(a.tactus, ["analyze", out])[0]["key"]
        except (subprocess.CalledProcessError, IndexError, KeyError):
            continue
        if not ck or not ck.get("tonic"):
            continue
        pk = keys[(p["path"], p["tune"])][0]
        other = usable[(i + 1) % len(usable)]
        k = kinship(ck, pk)
        ref_n += 1
        ref[0] += k[0]
        ref[1] += k[1]
        ref[2] += k[2]
        ref[3] += same_key(ck, keys[(other["path"], other["tune"])][0])
        raw.write(json.dumps({"reference": p, "corpus": p["corpus"], "prompt_key": pk, "key": ck, "kinship": k}) + "\n")
    if ref_n:
        print("- reference: the real bars %d-%d of the same %d pieces keep the opening's key (tonic and mode) in "
              "%d (%.1f%%), the key or its relative in %d (%.1f%%), have it among their three best in %d (%.1f%%); "
              "control: they match the opening's key of another piece in %d (%.1f%%)" %
              (a.prompt_bars + 1, a.prompt_bars + a.bars, ref_n, ref[0], 100.0 * ref[0] / ref_n, ref[1],
               100.0 * ref[1] / ref_n, ref[2], 100.0 * ref[2] / ref_n, ref[3], 100.0 * ref[3] / ref_n))
    tasks = [(i, usable[i % len(usable)], ["--tune", usable[i % len(usable)]["tune"]] if usable[i % len(usable)]["tune"] else [])
             for i in range(a.continuations if usable else 0)]

    def one(task):
        i, p, tune = task
        out = os.path.join(a.work, "cont-%d.mid" % i)
        try:
            r = tactus_json(a.tactus, ["continue", p["path"], "--prompt-bars", str(a.prompt_bars), "--bars", str(a.bars),
                                       "--seed", str(i + 2),
                                       "--only-new", "-o", out] + model + tune + a.sampler.split())[0]
        except subprocess.CalledProcessError as e:
            return p, None, None, e.stderr
        ck = tactus_json(a.tactus, ["analyze", out])[0]["key"] if r["notes"] else None
        os.unlink(out)
        return p, r, ck, None

    n = kept = related = top3 = decoded = kept_global = 0
    secs = 0.0
    per = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for p, r, ck, failed in ex.map(one, tasks):
            n += 1
            if failed is not None:
                raw.write(json.dumps({"continue_failed": p, "stderr": failed}) + "\n")
                continue
            decoded += 1
            secs += r["seconds"]
            if ck is None:
                raw.write(json.dumps({"continue": r, "empty": True}) + "\n")
                continue
            pk, gk = keys[(p["path"], p["tune"])]
            pt = (ALIASES.get(pk["tonic"], pk["tonic"]), pk["mode"])
            same = (ALIASES.get(ck["tonic"], ck["tonic"]), ck["mode"]) == pt
            kept_global += (ALIASES.get(ck["tonic"], ck["tonic"]), ck["mode"]) == (ALIASES.get(gk["tonic"], gk["tonic"]), gk["mode"])
            kept += same
            c = per.setdefault(p["corpus"], [0, 0, 0])
            c[0] += 1
            c[1] += same
            c[2] += same or relative(ck) == pt
            related += same or relative(ck) == pt
            top3 += any((ALIASES.get(c["tonic"], c["tonic"]), c["mode"]) == pt for c in [ck] + ck.get("runners_up", [])[:2])
            raw.write(json.dumps({"corpus": p["corpus"], "continue": r, "prompt_key": pk, "prompt_global_key": gk,
                                  "key": ck, "kept": same}) + "\n")
    print("## %d sampled continuations (%d bars after the first %d of %d held-out pieces)\n" %
          (n, a.bars, a.prompt_bars, len(usable)))
    print("- decoded and written: %d of %d" % (decoded, n))
    print("- kept the key of the opening (the local key at its last bar; tonic and mode): %d of %d (%.1f%%)" %
          (kept, n, 100.0 * kept / max(1, n)))
    print("- kept the key of the whole piece: %d of %d (%.1f%%)" % (kept_global, n, 100.0 * kept_global / max(1, n)))
    print("- the same key or its relative (same signature): %d of %d (%.1f%%)" % (related, n, 100.0 * related / max(1, n)))
    print("- the prompt's key among the continuation's three best-correlated keys: %d of %d (%.1f%%)" %
          (top3, n, 100.0 * top3 / max(1, n)))
    for name, (cn, ck_, cr) in per.items():
        print("  - %s: %d of %d kept the key, %d of %d the key or its relative" % (name, ck_, cn, cr, cn))
    print("- generation time: %.1f s in all, %.2f s per continuation" % (secs, secs / max(1, decoded)))


NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
ALIASES = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb", "Cb": "B", "B#": "C", "E#": "F", "Fb": "E"}


def relative(k):
    """The relative key of a major or minor key, as (tonic, mode); None for other modes."""
    t = ALIASES.get(k["tonic"], k["tonic"])
    if t not in NAMES or k["mode"] not in ("major", "minor"):
        return None
    i = NAMES.index(t)
    if k["mode"] == "major":
        return (NAMES[(i + 9) % 12], "minor")
    return (NAMES[(i + 3) % 12], "major")


def bundled(tactus):
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "tactus-base.safetensors")


if __name__ == "__main__":
    sys.exit(main())
