"""The app's client: every function in this folder is defined on ``inngest``."""

from adapter import Inngest

inngest = Inngest(app_id="workflows-demo")
