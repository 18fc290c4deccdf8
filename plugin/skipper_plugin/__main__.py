from skipper_plugin.cli import run

run()
