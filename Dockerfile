# One image for every role: the command picks web, worker, beat, flower or a migration
# (see docker-compose.yml). It runs as an unprivileged user and refuses to start on
# development defaults (CLINIC_ENV=production).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLINIC_ENV=production \
    CLINIC_INSTANCE=/var/lib/clinic

RUN groupadd --system --gid 10001 clinic \
    && useradd --system --uid 10001 --gid clinic --home-dir /var/lib/clinic --create-home \
        --shell /usr/sbin/nologin clinic

WORKDIR /app

# Dependencies first, pinned by constraints.txt, so a code change reuses this layer.
COPY setup.cfg pyproject.toml constraints.txt ./
RUN python -c "import configparser; c = configparser.ConfigParser(); c.read('setup.cfg'); \
print(c['options']['install_requires'])" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code, installed in place: migrations/ and alembic.ini stay next to the clinic package,
# where clinic.migrate looks for them. Owned by root, so the service user cannot change it.
COPY . .
RUN pip install --no-deps -c constraints.txt -e . \
    && python -c "import web.cli"

USER clinic
EXPOSE 8000 5555
CMD ["clinic", "web", "--host", "0.0.0.0", "--port", "8000"]
