# Fusion policies: face only, voice only, score sum, both-must-pass, cascade. Pure Python: the
# same file runs on the board and in the host's `eyeauth eval fusion`, so both decide alike.
# Scores are margins over each model's operating threshold (cosine - threshold): >= 0 passes.
# cascade with face None (no usable face: the router hands the attempt to the voice factor):
# a plain voice clip never decides it (a recording would open the board); the attempt must be a
# spoken challenge (auth.py answers need_challenge; challenge.py then runs policy challenge).
# A spoken challenge (challenge.py) makes the voice factor fresh: "challenge" needs the drawn
# words heard in order and the speaker's voice margin >= 0 in the same clip; "face+challenge"
# needs that and the face.
# POLICIES fuse two scores (the host's fusion evaluation sweeps them); ALL is what the board
# accepts.
CHALLENGE = ("challenge", "face+challenge")
POLICIES = ("face", "voice", "sum", "both", "cascade")
DEFAULT_POLICY = "cascade"  # unless the release manifest or the board's config says otherwise
ALL = POLICIES + CHALLENGE
CASCADE_MARGIN = 0.08


def needs(policy):
    # The modalities a policy may use, in the order they run.
    if policy == "face":
        return ("face",)
    if policy == "voice" or policy == "challenge":
        return ("voice",)
    return ("face", "voice")


def with_challenge(policy):
    # The challenge policy an attempt with a spoken challenge runs under, given the configured one
    if policy in CHALLENGE:
        return policy
    return "challenge" if needs(policy) == ("voice",) else "face+challenge"


def decide(policy, face=None, voice=None, margin=CASCADE_MARGIN, words=False):
    # -> (accepted, used) where `used` names the modalities whose score decided. For "cascade"
    # `voice` may be a function that computes the voice margin only when it is needed. `words`:
    # the challenge's words were heard, in order (challenge policies only).
    if policy in CHALLENGE:
        v = voice() if callable(voice) else voice
        if policy == "challenge":
            return words and v >= 0, ("voice",)
        return words and face >= 0 and v >= 0, ("face", "voice")
    if policy == "face":
        return face >= 0, ("face",)
    if policy == "voice":
        v = voice() if callable(voice) else voice
        return v >= 0, ("voice",)
    if policy == "cascade":
        if face is None:  # no usable face: only a spoken challenge may decide (see above)
            return False, ()
        if face >= margin:
            return True, ("face",)
        if face <= -margin:
            return False, ("face",)
        v = voice() if callable(voice) else voice
        return face + v >= 0, ("face", "voice")
    v = voice() if callable(voice) else voice
    if policy == "sum":
        return face + v >= 0, ("face", "voice")
    if policy == "both":
        return face >= 0 and v >= 0, ("face", "voice")
    raise ValueError("unknown policy " + str(policy))
