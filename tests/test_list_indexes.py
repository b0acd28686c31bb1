"""Every list order has an index that serves it on a real MongoDB (the stand-in ignores them;
bench/README.md, issue 16 cost curves): the staff list's row rule is {is_deleted: false} in the
list order, so a page must not need a collection scan and an in-memory sort."""

from __future__ import annotations

from db import umkm_profiles
from db.drivers.handles import Databases
from sigma_graphql.core.viewer import Audience, Viewer
from sigma_graphql.permissions import umkm_row_filter


async def test_staff_list_has_an_index_for_its_filter_and_order(dbs: Databases) -> None:
    indexes = await dbs.mongo[umkm_profiles.COLLECTION].index_information()
    staff_filter = umkm_row_filter(Viewer(audience=Audience.PEJABAT))
    wanted = [*((k, 1) for k in staff_filter), *umkm_profiles.SORT]
    assert indexes["live_created"]["key"] == wanted
