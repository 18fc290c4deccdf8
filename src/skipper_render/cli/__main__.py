from skipper_render.cli import main

main()
