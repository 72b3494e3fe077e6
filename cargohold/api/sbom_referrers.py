"""``/namespace/{name}/sbom-referrers``: whether each image scanned in a user's or
organization's repositories gets its CycloneDX SBOM attached as an OCI referrer
(``content.sbom_referrers``). The namespace's members read it, its admins change it
(audited as ``sbom_referrers_change``)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cargohold.api.auth import Audit, Caller
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import AccountName, Body
from cargohold.api.services import Content, Organizations

router = APIRouter(prefix="/namespace", tags=["security"], responses=ERROR_RESPONSES)


class SbomReferrersBody(Body):
    attach: bool = Field(
        description="attach each scanned image's SBOM to it as an OCI referrer "
        "(artifactType application/vnd.cyclonedx+json)"
    )


class SbomReferrersOut(BaseModel):
    namespace: str
    attach: bool


@router.get("/{name}/sbom-referrers")
async def get_sbom_referrers(
    name: AccountName, principal: Caller, organizations: Organizations, content: Content
) -> SbomReferrersOut:
    await organizations.require_seen(principal, name)
    attach = await content.sbom_referrers.attaches(name)
    return SbomReferrersOut(namespace=name, attach=attach)


@router.put("/{name}/sbom-referrers")
async def set_sbom_referrers(
    name: AccountName,
    body: SbomReferrersBody,
    principal: Caller,
    organizations: Organizations,
    content: Content,
    audit: Audit,
) -> SbomReferrersOut:
    """Takes effect for scans that finish from now on."""
    await organizations.require_admin(principal, name)
    before = await content.sbom_referrers.set(name, body.attach)
    await audit.record("sbom_referrers_change", namespace=name, before=before, after=body.attach)
    return SbomReferrersOut(namespace=name, attach=body.attach)
