"""Vector store file batches, and 404s that name what is missing, with the OpenAI SDK through the local gateway:
client → gateway → fdk → function (route table) → emulator (signature checked)."""

from __future__ import annotations

import io
from typing import Any, cast

import openai
import pytest

from dev.local.emulator import Emulator

pytestmark = pytest.mark.integration


def test_a_file_batch_is_created_polled_listed_and_cancelled(sdk: openai.OpenAI, emulator: Emulator) -> None:
    first = sdk.files.create(file=("a.txt", io.BytesIO(b"Krill feed whales."), "text/plain"), purpose="assistants")
    second = sdk.files.create(file=("b.txt", io.BytesIO(b"Cats sleep."), "text/plain"), purpose="assistants")
    store = sdk.vector_stores.create(name="batches")

    # The SDK's helper creates the batch, then polls GET …/file_batches/{batch} until it is no longer in progress.
    batch = sdk.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[first.id, second.id], poll_interval_ms=1
    )
    assert batch.status == "completed" and batch.file_counts.completed == 2
    listed = sdk.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id, order="asc")
    assert [(f.id, f.status) for f in listed] == [(first.id, "completed"), (second.id, "completed")]
    found = sdk.vector_stores.search(vector_store_id=store.id, query="krill")
    assert [r.file_id for r in found] == [first.id]

    pending = sdk.vector_stores.file_batches.create(vector_store_id=store.id, files=[{"file_id": second.id}])
    assert pending.status == "in_progress"
    cancelled = sdk.vector_stores.file_batches.cancel(pending.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled" and cancelled.file_counts.cancelled == 1

    paths = [c.path for c in emulator.calls if "/file_batches" in c.path]
    assert f"/openai/v1/vector_stores/{store.id}/file_batches/{pending.id}/cancel" in paths
    assert all(c.jti for c in emulator.calls if "/file_batches" in c.path), "every call signed"


def test_a_missing_batch_or_store_is_a_404_naming_it(sdk: openai.OpenAI) -> None:
    store = sdk.vector_stores.create(name="empty")
    with pytest.raises(openai.NotFoundError) as no_batch:
        sdk.vector_stores.file_batches.retrieve("vsfb_gone", vector_store_id=store.id)
    assert cast(Any, no_batch.value.body)["code"] == "file_batch_not_found"
    with pytest.raises(openai.NotFoundError) as no_store:
        sdk.vector_stores.file_batches.create(vector_store_id="vs_gone", file_ids=["file-x"])
    assert cast(Any, no_store.value.body)["code"] == "vector_store_not_found"


def test_a_missing_container_is_named_on_its_files_paths(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as no_container:
        sdk.containers.files.retrieve("cfile_x", container_id="cntr_gone")
    error = cast(Any, no_container.value.body)
    assert error["code"] == "container_not_found" and error["message"].startswith("No such container,")
    container = sdk.containers.create(name="c")
    with pytest.raises(openai.NotFoundError) as no_file:
        sdk.containers.files.retrieve("cfile_x", container_id=container.id)
    error = cast(Any, no_file.value.body)
    assert error["code"] == "container_file_not_found" and error["message"].startswith("No such container file,")
