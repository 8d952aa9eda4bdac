from django import template

from ..selectors import quality_report

register = template.Library()


@register.inclusion_tag("quality/_dashboard.html")
def quality_dashboard():
    """The console dashboard's quality section: flagged SKUs and top defects."""
    report = quality_report()
    return {"flagged": report["flagged"], "defect_types": report["defect_types"][:5]}
