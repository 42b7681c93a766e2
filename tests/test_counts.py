"""Counted lists: a count that the list after it contradicts."""

from tutor.checks import check_sentence
from tutor.counts import counted_lists, miscounted

GRU = ["A GRU merges the LSTM's gates into two gates, update and reset, and keeps no separate cell state."]


def test_a_list_is_read_with_its_number_noun_and_items():
    assert counted_lists("Serving has two phases: prefill and decode.") == [(2, "phase", ("prefill", "decode"))]
    assert counted_lists("There are three kinds of layers: input, hidden, and output.") == \
        [(3, "layer", ("input", "hidden", "output"))]
    assert counted_lists("Tune 3 hyperparameters — learning rate, batch size or weight decay") == \
        [(3, "hyperparameter", ("learning rate", "batch size", "weight decay"))]


def test_what_is_not_a_plain_list_is_left_alone():
    assert counted_lists("It has two gates, which control the flow of information.") == []
    assert counted_lists("It uses two layers, 64 units each.") == []
    # a parenthesis gives examples or a gloss, not the counted things
    assert counted_lists("Make two random augmentations (crop, colour jitter, blur) of each image.") == []


def test_a_count_its_own_list_contradicts_is_wrong():
    assert miscounted("It has three gates, update and reset.")
    assert miscounted("An LSTM has four gates: input, forget, output.")
    assert not miscounted("It has two gates, update and reset.")
    assert not miscounted("It has two gates, which control the flow of information.")


def test_a_miscounted_sentence_is_withheld_by_the_answer_check():
    # qwen2.5-0.5b on "what is a GRU": every word is in the passage, the count is not.
    assert check_sentence("It has three gates, update and reset [1].", GRU)[1] is False
    assert check_sentence("It has two gates, update and reset [1].", GRU)[1] is True


def test_a_count_of_structure_the_passages_give_otherwise_is_withheld():
    from tutor.counts import uncounted

    lstm = ["An LSTM cell has three sigmoid gates (forget, input, output) and a cell state."]
    # qwen2.5-0.5b on "how many gates does an LSTM have", beside that passage: "The LSTM has 4 gates."
    assert check_sentence("The LSTM has 4 gates [1].", lstm)[1] is False
    assert check_sentence("The LSTM has three gates [1].", lstm)[1] is True
    assert not uncounted("A GRU uses two gates.", ["An LSTM has three gates; a GRU has two gates."])
    # a number in an example, or of a thing no passage counts, is not read
    assert not uncounted("So ten linear layers equal one linear layer.", ["a network with 2 layers"])
    assert not uncounted("The LSTM has 4 weight matrices.", lstm)
    assert not uncounted("Use a tolerance of 1e-2 means trouble; keep 2-3 layers.", ["two layers"])


def test_a_sentence_cut_off_by_the_token_limit_is_not_shown():
    from tests.test_checked_stream import _checked
    from tutor.checks import cut_off

    text = _checked("Dropout randomly sets hidden units to zero during training. At inference time dropout is "
                    "switched off and the full network is used, so that")
    assert text.startswith("Dropout randomly sets hidden units to zero during training")
    assert "so that" not in text and "full network is used" not in text
    assert cut_off("GRUs suit tasks such as language processing, where they [1]")
    assert not cut_off("- Use dropout") and not cut_off("It helps [1].")
