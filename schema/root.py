"""Root Query, Mutation and Subscription: the contract's entry points.

Each root field delegates to the resolver module of its domain. Nothing else happens here: the
schema build attaches every root field's guard from the permission table
(sigma_graphql/permissions.py ROOT_ACCESS) and refuses a field the table does not list.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date

import strawberry
from strawberry.file_uploads import Upload

from resolvers import analytics, auth, financial, notifications, umkm, users, verification
from resolvers import api_keys as api_key_resolvers
from resolvers import exports as export_resolvers
from resolvers import imports as import_resolvers
from schema.types.analytics import (
    Anomaly,
    GrowthRanking,
    OfficialDashboard,
    OwnerDashboard,
    PublicStats,
    RegionStats,
    RevenueTrend,
    SectorStats,
)
from schema.types.api_keys import (
    ApiKeyConnection,
    ApiKeyPayload,
    CreateApiKeyInput,
    CreateApiKeyPayload,
)
from schema.types.common import CountPayload, OkPayload
from schema.types.enums import Role, VerificationStatus
from schema.types.exports import (
    ExportJob,
    ExportJobConnection,
    ExportJobPayload,
    StartExportInput,
)
from schema.types.financial import (
    FinancialLogConnection,
    FinancialLogPayload,
    FlagInput,
    Notification,
    NotificationConnection,
    NotificationPayload,
    SubmitFinancialLogInput,
)
from schema.types.imports import ImportFinancialLogsPayload, ImportMode
from schema.types.umkm import (
    UMKM,
    CityCluster,
    CreateUMKMInput,
    HeatCell,
    NearbyUMKM,
    UMKMConnection,
    UMKMFilter,
    UMKMPayload,
    UpdateUMKMInput,
    VerificationTask,
    VerificationTaskConnection,
)
from schema.types.users import (
    ChangePasswordInput,
    CreateUserInput,
    LoginEvent,
    LoginInput,
    LoginPayload,
    RegisterInput,
    RegisterPayload,
    ResetPasswordInput,
    UpdateUserInput,
    User,
    UserConnection,
    UserPayload,
)
from sigma_graphql.core.clock import reporting_today
from sigma_graphql.request.context import Info


@strawberry.type
class Query:
    @strawberry.field(
        description="Today's date in Indonesia (Asia/Jakarta): the reference for reporting "
        "periods (a month in the future cannot be reported)."
    )
    def today(self) -> date:
        return reporting_today()

    @strawberry.field(description="The signed-in user, or null.")
    async def me(self, info: Info) -> User | None:
        return await auth.me(info)

    @strawberry.field(
        description="Null when missing or not visible to the viewer (PUBLIC: only VERIFIED, not "
        "deleted)."
    )
    async def umkm(self, info: Info, id: strawberry.ID) -> UMKM | None:
        return await umkm.get_umkm(info, id)

    @strawberry.field(
        description="PUBLIC: VERIFIED only. UMKM_OWNER: own UMKMs. Staff: all (filter.status "
        "applies)."
    )
    async def umkms(
        self,
        info: Info,
        filter: UMKMFilter | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> UMKMConnection:
        return await umkm.list_umkms(info, filter, first, after)

    @strawberry.field(
        description="VERIFIED UMKMs within radiusKm (0 < r <= 50) of the point, nearest first."
    )
    async def umkms_near(
        self,
        info: Info,
        latitude: float,
        longitude: float,
        radius_km: float | None = 5,
        sektor: str | None = None,
        first: int | None = 20,
    ) -> list[NearbyUMKM]:
        return await umkm.umkms_near(info, latitude, longitude, radius_km, sektor, first)

    @strawberry.field(description="Staff only.")
    async def verification_tasks(
        self,
        info: Info,
        status: VerificationStatus | None = VerificationStatus.PENDING,
        first: int | None = 20,
        after: str | None = None,
    ) -> VerificationTaskConnection:
        return await verification.list_tasks(info, status, first, after)

    @strawberry.field(description="Staff only: flagged logs of a year, newest first.")
    async def flagged_financial_logs(
        self, info: Info, tahun: int, first: int | None = 20, after: str | None = None
    ) -> FinancialLogConnection:
        return await financial.flagged_logs(info, tahun, first, after)

    @strawberry.field(description="UMKM_OWNER only: own notifications, newest first.")
    async def notifications(
        self,
        info: Info,
        unread_only: bool | None = False,
        first: int | None = 20,
        after: str | None = None,
    ) -> NotificationConnection:
        return await notifications.list_notifications(info, unread_only, first, after)

    @strawberry.field
    async def unread_notification_count(self, info: Info) -> int:
        return await notifications.unread_count(info)

    @strawberry.field(
        description="Public. One entry per sector with data that year (or the one asked for)."
    )
    async def sector_stats(
        self, info: Info, tahun: int, sektor: str | None = None
    ) -> list[SectorStats]:
        return await analytics.sector_stats(info, tahun, sektor)

    @strawberry.field(
        description="Public. One entry per kota with data that year (or the one asked for)."
    )
    async def region_stats(
        self, info: Info, tahun: int, kota: str | None = None
    ) -> list[RegionStats]:
        return await analytics.region_stats(info, tahun, kota)

    @strawberry.field(
        description="Public and staff: all VERIFIED UMKMs; UMKM_OWNER: own UMKMs only."
    )
    async def revenue_trend(
        self,
        info: Info,
        tahun: int | None = None,
        sektor: str | None = None,
        kota: str | None = None,
    ) -> RevenueTrend:
        return await analytics.revenue_trend(info, tahun, sektor, kota)

    @strawberry.field(
        description="Staff only: UMKMs ranked by growth of the given quarter (default: latest "
        "complete quarter)."
    )
    async def top_growers(
        self, info: Info, tahun: int, quarter: int | None = None, first: int | None = 10
    ) -> list[GrowthRanking]:
        return await analytics.top_growers(info, tahun, quarter, first)

    @strawberry.field(
        description="Public: counts of VERIFIED UMKMs per geohash cell (precision 3..7)."
    )
    async def heatmap(
        self, info: Info, precision: int | None = 5, filter: UMKMFilter | None = None
    ) -> list[HeatCell]:
        return await umkm.heatmap(info, precision, filter)

    @strawberry.field(
        description="Public: VERIFIED UMKMs per kota with the centroid of their locations."
    )
    async def city_clusters(
        self, info: Info, filter: UMKMFilter | None = None
    ) -> list[CityCluster]:
        return await umkm.city_clusters(info, filter)

    @strawberry.field(
        description="Staff only: logs that look suspicious (statistical outliers), highest score "
        "first."
    )
    async def suspicious_financial_logs(
        self, info: Info, tahun: int, bulan: int | None = None, first: int | None = 50
    ) -> list[Anomaly]:
        return await analytics.suspicious_logs(info, tahun, bulan, first)

    @strawberry.field
    async def owner_dashboard(self, info: Info) -> OwnerDashboard:
        return await analytics.owner_dashboard(info)

    @strawberry.field
    async def official_dashboard(self, info: Info) -> OfficialDashboard:
        return await analytics.official_dashboard(info)

    @strawberry.field
    async def public_stats(self, info: Info) -> PublicStats:
        return await analytics.public_stats(info)

    @strawberry.field(description="ADMIN only.")
    async def users(
        self,
        info: Info,
        role: Role | None = None,
        search: str | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> UserConnection:
        return await users.list_users(info, role, search, first, after)

    @strawberry.field(description="Self, or ADMIN for any user: newest first.")
    async def login_history(
        self, info: Info, user_id: strawberry.ID | None = None, first: int | None = 20
    ) -> list[LoginEvent]:
        return await auth.login_history(info, user_id, first)

    # exports (issue 18)
    @strawberry.field(description="Staff: one of the viewer's own export jobs, or null.")
    async def export_job(self, info: Info, id: strawberry.ID) -> ExportJob | None:
        return await export_resolvers.export_job(info, id)

    @strawberry.field(description="Staff: the viewer's own export jobs, newest first.")
    async def export_jobs(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> ExportJobConnection:
        return await export_resolvers.list_export_jobs(info, first, after)

    # issue 18: API keys for machines
    @strawberry.field(description="UMKM_OWNER: own API keys (of one UMKM), newest first.")
    async def api_keys(
        self,
        info: Info,
        umkm_id: strawberry.ID | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> ApiKeyConnection:
        return await api_key_resolvers.list_api_keys(info, umkm_id, first, after)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Public: creates an UNVERIFIED UMKM_OWNER and emails a verification link "
        "(token valid 15 minutes)."
    )
    async def register(self, info: Info, input: RegisterInput) -> RegisterPayload:
        return await auth.register(info, input)

    @strawberry.mutation(description="Activates the account; a token works once.")
    async def verify_email(self, info: Info, token: str) -> OkPayload:
        return await auth.verify_email(info, token)

    @strawberry.mutation(
        description="Always ok (no account enumeration); sends a new link to an UNVERIFIED account."
    )
    async def resend_verification_email(self, info: Info, email: str) -> OkPayload:
        return await auth.resend_verification_email(info, email)

    @strawberry.mutation(
        description="ACTIVE accounts only. At most 5 failures per 15 minutes per account and per "
        "client address, then RATE_LIMITED."
    )
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        return await auth.login(info, input)

    @strawberry.mutation
    async def logout(self, info: Info) -> OkPayload:
        return await auth.logout(info)

    @strawberry.mutation
    async def change_password(self, info: Info, input: ChangePasswordInput) -> OkPayload:
        return await auth.change_password(info, input)

    @strawberry.mutation(
        description="Always ok; emails a reset link (15 minutes) to an existing account."
    )
    async def request_password_reset(self, info: Info, email: str) -> OkPayload:
        return await auth.request_password_reset(info, email)

    @strawberry.mutation(description="Sets the password and ends every session of that account.")
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> OkPayload:
        return await auth.reset_password(info, input)

    @strawberry.mutation(description="ADMIN: creates an ACTIVE PEJABAT or ADMIN account.")
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        return await users.create_user(info, input)

    @strawberry.mutation(description="ADMIN. Suspending ends the user's sessions.")
    async def update_user(
        self, info: Info, id: strawberry.ID, input: UpdateUserInput
    ) -> UserPayload:
        return await users.update_user(info, id, input)

    @strawberry.mutation(
        description="ADMIN, never self: removes the account and its sessions; owned UMKMs stay, "
        "owner-less."
    )
    async def delete_user(self, info: Info, id: strawberry.ID) -> OkPayload:
        return await users.delete_user(info, id)

    @strawberry.mutation(
        description="UMKM_OWNER (becomes PENDING, owned by the caller) or ADMIN (VERIFIED)."
    )
    async def create_umkm(self, info: Info, input: CreateUMKMInput) -> UMKMPayload:
        return await umkm.create_umkm(info, input)

    @strawberry.mutation(
        description="Owner or ADMIN. Changing namaUsaha, sektor or wilayah of a VERIFIED UMKM by "
        "its owner sends it back to PENDING."
    )
    async def update_umkm(
        self, info: Info, id: strawberry.ID, input: UpdateUMKMInput
    ) -> UMKMPayload:
        return await umkm.update_umkm(info, id, input)

    @strawberry.mutation(
        description="Soft delete: owner or ADMIN. Its months leave every aggregate."
    )
    async def delete_umkm(self, info: Info, id: strawberry.ID) -> UMKMPayload:
        return await umkm.delete_umkm(info, id)

    @strawberry.mutation(
        description="ADMIN: undo a soft delete; its months return to the aggregates."
    )
    async def restore_umkm(self, info: Info, id: strawberry.ID) -> UMKMPayload:
        return await umkm.restore_umkm(info, id)

    @strawberry.mutation(description="Staff: PENDING -> VERIFIED; the owner is notified.")
    async def approve_umkm(
        self, info: Info, id: strawberry.ID, note: str | None = None
    ) -> UMKMPayload:
        return await verification.approve_umkm(info, id, note)

    @strawberry.mutation(
        description="Staff: PENDING -> REJECTED with a reason of 10..500 chars; the owner is "
        "notified."
    )
    async def reject_umkm(self, info: Info, id: strawberry.ID, reason: str) -> UMKMPayload:
        return await verification.reject_umkm(info, id, reason)

    @strawberry.mutation(description="Owner: REJECTED -> PENDING after corrections.")
    async def resubmit_umkm(self, info: Info, id: strawberry.ID) -> UMKMPayload:
        return await verification.resubmit_umkm(info, id)

    @strawberry.mutation(
        description="Owner (own VERIFIED UMKM) or staff. Re-submitting a month replaces it; a "
        "flag stays until staff clear it."
    )
    async def submit_financial_log(
        self, info: Info, input: SubmitFinancialLogInput
    ) -> FinancialLogPayload:
        return await financial.submit_log(info, input)

    @strawberry.mutation(description="ADMIN.")
    async def delete_financial_log(
        self, info: Info, umkm_id: strawberry.ID, tahun: int, bulan: int
    ) -> OkPayload:
        return await financial.delete_log(info, umkm_id, tahun, bulan)

    @strawberry.mutation(
        description="Staff: flags an existing month and notifies the owner once per flag."
    )
    async def flag_financial_log(self, info: Info, input: FlagInput) -> FinancialLogPayload:
        return await financial.flag_log(info, input)

    @strawberry.mutation(description="Staff: clears the flag and notifies the owner.")
    async def unflag_financial_log(
        self, info: Info, umkm_id: strawberry.ID, tahun: int, bulan: int
    ) -> FinancialLogPayload:
        return await financial.unflag_log(info, umkm_id, tahun, bulan)

    @strawberry.mutation(description="UMKM_OWNER: own notification.")
    async def mark_notification_read(self, info: Info, id: strawberry.ID) -> NotificationPayload:
        return await notifications.mark_read(info, id)

    @strawberry.mutation
    async def mark_all_notifications_read(self, info: Info) -> CountPayload:
        return await notifications.mark_all_read(info)

    # exports (issue 18)
    @strawberry.mutation(
        description="Staff: starts a background export (CSV or XLSX) of the UMKM registry, "
        "monthly revenue or the sector/region aggregates, with the lists' filters; follow it "
        "with exportJob or exportJobUpdated."
    )
    async def start_export(self, info: Info, input: StartExportInput) -> ExportJobPayload:
        return await export_resolvers.start_export(info, input)

    # issue 18: revenue imports and API keys for machines
    @strawberry.mutation(
        description="Owner (own VERIFIED UMKMs), staff (any) or an API key (its UMKM): monthly "
        "revenue from a CSV or XLSX file sent as a GraphQL multipart request (with the header "
        "Apollo-Require-Preflight). Rows follow the rules of submitFinancialLog; templates at "
        "/templates/financial-logs.csv and .xlsx. mode defaults to SIGMA_IMPORT_MODE "
        "(ALL_OR_NOTHING)."
    )
    async def import_financial_logs(
        self,
        info: Info,
        file: Upload,
        umkm_id: strawberry.ID | None = None,
        mode: ImportMode | None = None,
    ) -> ImportFinancialLogsPayload:
        return await import_resolvers.import_logs(info, file, umkm_id, mode)

    @strawberry.mutation(
        description="UMKM_OWNER: a key for one own UMKM and revenue reporting; the secret is "
        "in this answer only."
    )
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        return await api_key_resolvers.create_api_key(info, input)

    @strawberry.mutation(description="UMKM_OWNER: own key; refused at once on every process.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKeyPayload:
        return await api_key_resolvers.revoke_api_key(info, id)


@strawberry.type
class Subscription:
    @strawberry.subscription(description="UMKM_OWNER: own new notifications as they are created.")
    async def notification_added(
        self,
        info: Info,
        since: strawberry.ID | None = None,
    ) -> AsyncGenerator[Notification, None]:
        async for item in notifications.subscribe(info, since):
            yield item

    @strawberry.subscription(
        description="Staff: new PENDING verification tasks as they are created."
    )
    async def verification_task_added(self, info: Info) -> AsyncGenerator[VerificationTask, None]:
        async for item in verification.subscribe(info):
            yield item

    # exports (issue 18)
    @strawberry.subscription(
        description="Staff: the creator's export job now, then its progress until it ends."
    )
    async def export_job_updated(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[ExportJob, None]:
        async for item in export_resolvers.subscribe(info, id):
            yield item
