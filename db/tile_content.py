"""What each kind of home page tile holds (seed 001 "Startseite"), validated with
pydantic: texts per language plus what the kind needs (an entity, a link, an image).

Stored as JSON on the tile: `{"entity": "contract", "de": {"title": ...}, "en": {...}}`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from db.models.enums import TileKind

Title = Annotated[str, Field(min_length=1, max_length=80)]
Text = Annotated[str, Field(max_length=2000)]
Label = Annotated[str, Field(min_length=1, max_length=40)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Titled(_Strict):
    title: Title


class TitledText(_Strict):
    title: Title
    text: Text = ""


class ActionTexts(_Strict):
    title: Title
    text: Text = ""
    button_label: Label


class _Content(_Strict):
    de: Any = None
    en: Any = None

    @model_validator(mode="after")
    def _some_language(self) -> _Content:
        if self.de is None and self.en is None:
            raise ValueError("texts in at least one language (de, en) are required")
        return self


class TextContent(_Content):
    de: TitledText | None = None
    en: TitledText | None = None


class ActionContent(_Content):
    de: ActionTexts | None = None
    en: ActionTexts | None = None
    url: HttpUrl | None = None
    journey_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ActionContent:
        if (self.url is None) == (self.journey_id is None):
            raise ValueError("an action needs exactly one of url and journey_id")
        return self


class EntityContent(_Content):
    de: Titled | None = None
    en: Titled | None = None
    entity: Literal["contract", "opportunity", "order", "meter"]


class TeaserContent(_Content):
    de: TitledText | None = None
    en: TitledText | None = None
    image_url: HttpUrl
    link_url: HttpUrl | None = None


class ListContent(_Content):
    de: Titled | None = None
    en: Titled | None = None
    # How many documents or payments the tile lists.
    limit: Annotated[int, Field(ge=1, le=20)] = 5


class MeterReadingContent(_Content):
    de: TitledText | None = None
    en: TitledText | None = None


CONTENT_OF_KIND: dict[TileKind, type[_Content]] = {
    TileKind.ACTION: ActionContent,
    TileKind.TEXT: TextContent,
    TileKind.ENTITY: EntityContent,
    TileKind.TEASER: TeaserContent,
    TileKind.DOCUMENTS: ListContent,
    TileKind.PAYMENTS: ListContent,
    TileKind.METER_READING: MeterReadingContent,
}


def validate_content(kind: TileKind, content: Any) -> dict[str, Any]:
    """The content as stored (JSON-compatible, without unset fields); raises pydantic's
    ValidationError with the path of every problem."""
    model = CONTENT_OF_KIND[kind].model_validate(content)
    return model.model_dump(mode="json", exclude_none=True)
