from skipper_render.cli import run

run()
