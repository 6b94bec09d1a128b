from ordergate.cli import main

main()
