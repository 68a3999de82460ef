"""The receipt's download: a button, what the receipt is for, and a note once it is gone."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventHandler
from reflex.vars import BooleanVar

from components.vars import Texts


def receipt_download(t: Texts, gone: BooleanVar, on_download: EventHandler) -> rx.Component:
    return rx.el.div(
        rx.el.button(
            t["receipt.download"],
            type="button",
            class_name="button-primary",
            id="receipt-download",
            aria_describedby="receipt-hint",
            on_click=on_download,
        ),
        rx.el.p(t["receipt.download_hint"], class_name="hint", id="receipt-hint"),
        rx.cond(gone, rx.el.p(t["receipt.gone"], id="receipt-gone", role="status")),
        class_name="receipt-download",
    )
