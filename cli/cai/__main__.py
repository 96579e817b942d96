from cai.app import main

main()
