"""The palette's text colours reach WCAG AA contrast (4.5:1) in light and dark mode."""

from __future__ import annotations

import pytest

from digest.render.palette import DARK, LIGHT, TEXT_PAIRS, Palette, contrast_ratio


def test_contrast_ratio_matches_wcag_reference_values() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#ffffff", "#767676") == contrast_ratio("#767676", "#ffffff")
    with pytest.raises(ValueError):
        contrast_ratio("red", "#ffffff")


@pytest.mark.parametrize(("name", "palette"), [("light", LIGHT), ("dark", DARK)])
@pytest.mark.parametrize(("text", "background"), TEXT_PAIRS)
def test_every_text_pair_reaches_aa(name: str, palette: Palette, text: str,
                                    background: str) -> None:
    ratio = contrast_ratio(getattr(palette, text), getattr(palette, background))
    assert ratio >= 4.5, f"{name}: {text} on {background} is {ratio:.2f}:1"
