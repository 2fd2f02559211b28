from unidir.cli import main

main()
