# One image for web, worker and beat; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMS_VAR_DIR=/app/var \
    PORT=8000

WORKDIR /app

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin oms

# The lock is the complete resolved set, so --no-deps installs exactly it.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock && pip check

COPY . .

# Collect static files with the production storage (hashed, compressed names
# that whitenoise serves). The key and host exist only for this build step.
RUN OMS_ENV=production \
    SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime-0123456789abcdef \
    ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --noinput --verbosity 0 \
 && mkdir -p /app/var/media \
 && chown -R oms:oms /app/var

USER oms

EXPOSE 8000

# Workers: gunicorn.conf.py (read from /app), one single-threaded process per
# CPU; WEB_CONCURRENCY and WEB_THREADS override it.
CMD ["sh", "-c", "exec gunicorn oms.wsgi --bind 0.0.0.0:${PORT} --access-logfile -"]
