# docbot: the Telegram bot that answers questions from a news article, quoting and citing it.
#   docker build -t docbot .
#   docker run -e BOT_TOKEN=... docbot                                   # polling
#   docker run -e BOT_TOKEN=... -e BOT_WEBHOOK_URL=https://host:8443/telegram \
#              -p 8443:8443 docbot python -m bot run --webhook          # webhook
FROM python:3.11-slim

# BOT_WEBHOOK_LISTEN: in a container the webhook server must accept outside connections.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BOT_WEBHOOK_LISTEN=0.0.0.0

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin docbot
WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The package itself (bot and bot.telegram), then the documents it answers from.
COPY README.md ./
COPY bot/ bot/
RUN pip install --no-deps . && rm -rf build ./*.egg-info
COPY seeds/ seeds/
COPY config.example.toml ./

# Build the index now, as the user that runs the bot, so start-up finds it up to date
# (and could still rebuild it in data/ if the seeds were changed in a derived image).
RUN mkdir -p data && chown -R docbot:docbot /app
USER docbot
RUN python -m bot index

# Webhook mode only; polling needs no open port. PTB stops cleanly on SIGTERM (docker stop).
EXPOSE 8443
CMD ["python", "-m", "bot", "run"]
