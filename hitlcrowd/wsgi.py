import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hitlcrowd.settings")
application = get_wsgi_application()
# Import every view now, not on the first request: the URLconf pulls in scikit-learn, crowd-kit
# and matplotlib (~4 s of CPU here), and with `gunicorn --preload` workers fork with it loaded.
get_resolver().url_patterns  # noqa: B018 (the property imports the views)
