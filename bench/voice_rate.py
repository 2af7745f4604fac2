"""Why the voice front end stays at 8 kHz: Resemblyzer's EER on the Speech Commands evaluation
speakers' single clips given at 16 kHz (as recorded) and at 8 kHz (what the board keeps), the
first 5 clips of each speaker enrolled, every other clip scored against every template as the
board scores (eyeauth.evaluation.scoring): the most a 16 kHz front end could be expected to
gain. The figures in models/README.md ("Why 8 kHz") come from

    python3 bench/voice_rate.py
"""
import sys

from eyeauth import datasets, splits
from eyeauth.evaluation import scoring
from eyeauth.models import voice_teacher

data_dir = sys.argv[1] if len(sys.argv) > 1 else None
ids = splits.identities("speech_commands", "eval")
ds = datasets.scan(splits.folder("speech_commands", data_dir), "voice").subset(ids)
items = ds.items()
labels = [i for i, _ in items]
for rate in (8000, 16000):
    clips = [datasets.load_audio(p, rate) for _, p in items]
    g, i = scoring.trials(voice_teacher.embed(clips, rate=rate), labels, 5)
    print(f"Resemblyzer, Speech Commands eval single clips at {rate} Hz: EER "
          f"{100 * scoring.eer(g, i):.1f} %, FRR@FAR1% {100 * scoring.frr_at_far(g, i):.1f} % "
          f"({g.size} + {i.size} trials)")
