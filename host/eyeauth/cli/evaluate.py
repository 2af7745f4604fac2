"""`eyeauth eval thresholds|identification|fusion`: operating thresholds and face+voice fusion, scored as the
board scores."""
from eyeauth.cli.main import Result, add_board_arg, add_json_flag, add_models_arg, help_when_bare, pct


def register(subparsers):
    p = subparsers.add_parser("eval", help="operating thresholds and fusion policies",
                              description="Evaluate authentication the way the board decides: "
                              "int8 templates, cosine with the normalised sum, per-model "
                              "thresholds and the firmware's fusion policies.")
    sub = p.add_subparsers(dest="eval_command", metavar="ACTION")

    t = sub.add_parser("thresholds", help="compute every model's EER threshold -> "
                       "models/thresholds.json",
                       description="For every built face and voice model: genuine and impostor "
                       "scores on the identities it never trained on (its card's held-out "
                       "identities), with the board's scoring (enrol 3 images / 5 clips as int8); "
                       "operating threshold = EER threshold. Writes models/thresholds.json, which "
                       "`eyeauth deploy` copies to the board.")
    t.add_argument("--out", help="output file (default: thresholds.json in the release folder)")
    add_models_arg(t)
    t.add_argument("--data", help="data root holding faces/orl and voices/fsdd "
                   "(default: ../shared/data)")
    add_json_flag(t)
    t.set_defaults(func=_thresholds)

    i = sub.add_parser("identification", help="impostor score tail per model -> "
                       "models/identification.json (thresholds for 1:N identification)",
                       description="For every face and voice model: the calibration impostor "
                       "scores of `eyeauth eval thresholds`, and the normal law through their 95 % "
                       "and 99.5 % quantiles (on the safe side of the empirical tail). The board "
                       "takes from it, for an attempt without a claimed user over N "
                       "templates, the per-comparison threshold an impostor passes with "
                       "probability FAR/N, so the attempt's FAR stays at the target. Writes "
                       "models/identification.json, which `eyeauth deploy` copies to the board.")
    i.add_argument("--out", help="output file (default: identification.json in the release folder)")
    add_models_arg(i)
    i.add_argument("--data", help="data root (default: ../shared/data)")
    add_json_flag(i)
    i.set_defaults(func=_identification)

    f = sub.add_parser("fusion", help="EER, FAR/FRR and modeled latency of every fusion policy",
                       description="Pair face and voice identities into virtual persons (natural "
                       "order, first k of each), enrol the first files of each, probe with the "
                       "rest (seeded random face+voice pairs), claim every enrolled person, and "
                       "score the policies face, voice, sum, both, cascade with the board's "
                       "decision rule. Latency is modeled for the board (cards + Python stages "
                       "timed in the MicroPython VM).")
    f.add_argument("--faces", required=True, help="folder of face images, <identity>/<files>")
    f.add_argument("--voices", required=True, help="folder of .wav clips, <identity>/<files> "
                   "or FSDD's flat recordings/ folder")
    f.add_argument("--face-model", help="face model (default: thresholds.json's default)")
    f.add_argument("--voice-model", help="voice model (default: thresholds.json's default)")
    f.add_argument("--enroll-face", type=int, default=3, help="images enrolled per person (3)")
    f.add_argument("--enroll-voice", type=int, default=5, help="clips enrolled per person (5)")
    f.add_argument("--persons", type=int, help="use at most this many virtual persons")
    f.add_argument("--trials-per-person", type=int,
                   help="probe pairs per person (default: its larger probe count)")
    f.add_argument("--heldout-only", nargs="?", const="both", choices=("both", "face", "voice"),
                   help="only identities the chosen models never trained on (both modalities, "
                   "or only face / only voice)")
    f.add_argument("--seed", type=int, default=0, help="seed of the probe pairing (0)")
    add_board_arg(f, help="board config for latency (default: $EYEAUTH_BOARD, else board in "
                  "[tool.eyeauth], else esp-eye)")
    add_models_arg(f)
    f.add_argument("--thresholds", help="thresholds file (default: thresholds.json in the release "
                   "folder)")
    add_json_flag(f)
    f.set_defaults(func=_fusion)

    lv = sub.add_parser("liveness", help="the spoken challenge: words, replays, impostors, latency",
                        description="The spoken challenge as the board decides it, on Speech "
                        "Commands speakers no model trained on (the eval part of data/splits.json "
                        "by default): per speaker 10 challenges of distinct random words; genuine "
                        "= the speaker says them (single-word clips joined with random gaps and "
                        "noise), replay = the speaker's recording of other words, impostor = "
                        "another speaker says the right words. Word segmentation (the firmware's "
                        "words.py), the int8 keyword model and the voice model in TFLM; "
                        "modeled_ms = the firmware's challenge path timed in the MicroPython VM x "
                        "the board's python_speed_factor + the timing model per inference.")
    lv.add_argument("--part", default="eval", choices=("eval", "calib", "premodel"),
                    help="which speakers (default eval: never trained on, never fitted on)")
    lv.add_argument("--words", type=int, default=3, choices=(3, 4), help="words per challenge (3)")
    lv.add_argument("--trials", type=int, default=10, help="challenges per speaker (10)")
    lv.add_argument("--seed", type=int, default=13, help="seed of the draws, gaps and noise (13)")
    lv.add_argument("--voice-model", help="voice model (default: thresholds.json's default)")
    lv.add_argument("--no-latency", action="store_true", help="skip the modeled latency (VM timing)")
    add_models_arg(lv)
    lv.add_argument("--update-card", action="store_true",
                    help="first refit the keyword model's margin threshold on the calib + premodel "
                    "speakers and rewrite its card's figures")
    add_json_flag(lv)
    lv.set_defaults(func=_liveness)
    help_when_bare(p)


def _identification(args):
    from eyeauth.evaluation import identification as identify

    r = identify.build(out=args.out, data_dir=args.data)
    lines = [f"{'model':10s} {'mu':>7s} {'sd':>7s} {'thr 1:1':>8s}  fit/empirical at 1e-2, 3e-3, 1e-3   {'thr N=500':>9s}"]
    for m, t in r["tail"].items():
        c = r["check"][m]
        fit = "  ".join(f"{c['fit_at'][q]:.3f}/{c['empirical_at'][q]:.3f}" for q in c["fit_at"])
        lines.append(f"{m:10s} {t['mu']:7.4f} {t['sd']:7.4f} {c['thr_1to1']:8.4f}  {fit}   {c['thr_500']:9.4f}")
    lines.append(f"wrote {r['path']}")
    return Result(r, "\n".join(lines))


def _thresholds(args):
    from eyeauth.evaluation import thresholds

    r = thresholds.build(out=args.out, data_dir=args.data)
    lines = [f"{'model':10s} {'modality':8s} {'EER':>7s} {'threshold':>9s} {'FRR@FAR1%':>9s} "
             f"{'trials':>10s}"]
    for mod in ("face", "voice"):
        for name in r["models"][mod]:
            d = r["data"]["per_model"][name]
            star = " *" if r["default"][mod] == name else ""
            lines.append(f"{name:10s} {mod:8s} {pct(r['eer'][name])} {r['thresholds'][name]:9.4f} "
                         f"{pct(d['frr_at_far_1pct']):>9s} "
                         f"{d['genuine_trials']:>4d}+{d['impostor_trials']:<5d}{star}")
    lines.append(f"* default per modality (best EER); wrote {r['path']}")
    return Result(r, "\n".join(lines))


def _fusion(args):
    from eyeauth.evaluation import fusion as fusion_eval

    r = fusion_eval.evaluate(args.faces, args.voices, face_model=args.face_model,
                             voice_model=args.voice_model, enrol_face=args.enroll_face,
                             enrol_voice=args.enroll_voice, seed=args.seed,
                             trials_per_person=args.trials_per_person, persons=args.persons,
                             heldout_only=args.heldout_only, thresholds_path=args.thresholds,
                             board=args.board)
    t = r["trials"]
    lat = r["latency"]
    lines = [f"{r['persons']} virtual persons ({r['models']['face']} + {r['models']['voice']}), "
             f"{t['genuine']} genuine + {t['impostor']} impostor trials, seed {t['seed']}",
             f"{'policy':8s} {'EER':>7s} {'FAR':>7s} {'FRR':>7s} {'FRR@FAR1%':>9s} "
             f"{'ms (all)':>9s} {'ms (gen.)':>9s} {'voice':>6s}"]
    for name, p in r["policies"].items():
        lines.append(f"{name:8s} {pct(p['eer'])} {pct(p['far'])} {pct(p['frr'])} "
                     f"{pct(p['frr_at_far_1pct']):>9s} {p['mean_latency_ms']:9.1f} "
                     f"{p['mean_latency_ms_genuine']:9.1f} {100 * p['voice_fraction']:5.1f}%")
    b = r["best_fused"]
    verdict = "beats" if b["beats_both"] else "does NOT beat"
    lines.append(f"best fused policy: {b['policy']} (EER {100 * b['eer']:.2f}%) {verdict} the "
                 "best single modality")
    lines.append(f"modeled {lat['board']}: face path {lat['face_ms']:.0f} ms, voice path "
                 f"{lat['voice_ms']:.0f} ms (Python stages x{lat['python_speed_factor']:g})")
    lines.extend(f"warning: {w}" for w in r["warnings"])
    return Result(r, "\n".join(lines))


def _liveness(args):
    from eyeauth.evaluation import liveness
    from eyeauth.evaluation import cards

    if args.trials < 1:
        from eyeauth.errors import UsageError

        raise UsageError("--trials must be at least 1")
    if args.update_card:
        cards.keyword(liveness.keyword_card()["name"])
    r = liveness.evaluate(part=args.part, n_words=args.words, per_speaker=args.trials,
                          seed=args.seed, voice=args.voice_model, latency=not args.no_latency)
    t = r["trials"]
    lines = [f"{r['about']} ({r['speakers']} speakers; {r['keyword_model']} + {r['voice_model']})",
             f"word accuracy (open, words of genuine phrases): {pct(r['word_accuracy'])} of "
             f"{r['word_accuracy_words']}; single clips {pct(r['word_accuracy_clips'])} of "
             f"{r['word_accuracy_clips_n']}",
             f"genuine pass, first try:   {pct(r['genuine_pass_rate'])} ({t['genuine']['accepted']}/"
             f"{t['genuine']['trials']}; words alone {pct(r['genuine_words_only_pass_rate'])})",
             f"replays rejected:          {pct(r['replay_reject_rate'])} ({t['replay']['trials']} trials)",
             f"right words, wrong order:  {pct(r['reorder_reject_rate'])} rejected ({t['reorder']['trials']} trials)",
             f"impostors rejected:        {pct(r['impostor_reject_rate'])} ({t['impostor']['trials']} "
             f"trials; the voice model alone accepts {pct(r['impostor_voice_alone_far'])})"]
    if "modeled" in r:
        m = r["modeled"]
        lines.append(f"modeled {m['board']}: {r['modeled_ms']:.0f} ms per challenge (median of "
                     f"{m['phrases']} phrases, {m['seconds_mean']} s each; {m['min_ms']:.0f}-"
                     f"{m['max_ms']:.0f} ms; nn {m['median']['nn_ms']:.0f} ms, Python stages "
                     f"{m['median']['python_ms']:.0f} ms x{m['python_speed_factor']:g})")
    return Result(r, "\n".join(lines))
