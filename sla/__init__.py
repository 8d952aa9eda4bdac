"""SLA legs of each return (pickup, QC, exchange dispatch, refund) with Celery
timers and automatic escalation when a clock runs out."""
